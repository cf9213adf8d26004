#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `passerelle` command: runs the TypeScript sources through tsx (no build step).
// A small young generation (4 MB semi-spaces instead of 16): loading a 100,000-foyer stock peaks ~50 MB lower for
// the whole process (bench:ingest, issue 17). `node bin/passerelle.js` runs without it; the image passes it too.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
await main(process.argv)
