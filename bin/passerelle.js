#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=100
// Entry point of the `passerelle` command: runs the TypeScript sources through tsx (no build step).
// The two V8 flags bound the main thread's heap (issue 17: loading a 100,000-foyer stock under 300 MB for the whole
// process). By default V8 sizes this heap for the machine's memory: 16 MB semi-spaces, and an old generation allowed
// to grow up to 4x its live size between major collections, so the per-batch objects of an ingestion pile up to
// 130-160 MB of heap around a ~50 MB live set. 4 MB semi-spaces and a fixed growth factor of 2 keep it nearer the live set
// (bench:ingest: ~360-390 MB → 265-274 MB peak RSS, 1-9 % more CPU). `node bin/passerelle.js` runs without them. The
// `passerelle` command is bin/passerelle, which passes them to every command but `serve` (32 MB semi-spaces there:
// a server's objects die young); the image and the npm scripts go through it.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
await main(process.argv)
