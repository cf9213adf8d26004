import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const REPO = path.resolve(import.meta.dirname, '../..')
const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> }

/** End of life of Node's LTS lines (nodejs.org release schedule). Odd lines are never LTS. */
const LTS_END_OF_LIFE: Record<number, string> = { 18: '2025-04-30', 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' }

/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
const stages = instructions.reduce<string[][]>((all, line) => {
  if (/^FROM /i.test(line)) all.push([line])
  else all.at(-1)?.push(line)
  return all
}, [])
const finalStage = stages.at(-1)!

describe('Dockerfile', () => {
  it('builds every stage on a Node LTS line still supported today', () => {
    const images = stages.map((s) => /^FROM\s+node:(\d+)(-[a-z0-9.-]+)?(\s|$)/i.exec(s[0]!))
    expect(images.every((m) => m !== null)).toBe(true)
    const majors = new Set(images.map((m) => Number(m![1])))
    expect(majors.size).toBe(1)
    const major = [...majors][0]!
    expect(LTS_END_OF_LIFE[major], `node ${major} is not an LTS line`).toBeDefined()
    expect(new Date(`${LTS_END_OF_LIFE[major]}T23:59:59Z`).getTime()).toBeGreaterThan(Date.now())
  })

  it('keeps engines open to the Node 20 the tests also run on', () => {
    const floor = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node)
    expect(floor).not.toBeNull()
    expect(Number(floor![1])).toBeLessThanOrEqual(20)
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
    expect(major > Number(floor![1]) || (major === Number(floor![1]) && minor >= Number(floor![2]))).toBe(true)
  })

  it('runs as a non-root user, with a health check, production dependencies only', () => {
    const user = finalStage.filter((l) => /^USER /i.test(l)).at(-1)
    expect(user).toBeDefined()
    expect(user!.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/)
    expect(finalStage.some((l) => /^HEALTHCHECK .*\/healthz/i.test(l))).toBe(true)
    const installs = instructions.filter((l) => /\bnpm (ci|install)\b/.test(l))
    expect(installs.length).toBeGreaterThan(0)
    for (const l of installs) expect(l).toMatch(/--omit=dev/)
    // The final image gets the production node_modules of the build stage, never the build context's.
    const copies = finalStage.filter((l) => /^COPY /i.test(l))
    expect(copies.some((l) => /--from=\S+\s+\/app\/node_modules/.test(l))).toBe(true)
    expect(copies.some((l) => /^COPY\s+(\.|node_modules)\s/.test(l))).toBe(false)
  })

  it('enters through the launcher, which picks the heap settings of the command (bin/passerelle)', () => {
    const entry = finalStage.filter((l) => /^ENTRYPOINT /i.test(l)).at(-1)
    const workdir = finalStage.filter((l) => /^WORKDIR /i.test(l)).at(-1)!.split(/\s+/)[1]!
    expect(JSON.parse(entry!.replace(/^ENTRYPOINT\s+/i, ''))).toEqual([`${workdir}/bin/passerelle`])
    expect(finalStage.some((l) => /^COPY\s+bin\s+\.\/bin$/.test(l))).toBe(true)
    // Executable as checked out (COPY keeps the mode), since the image runs it directly.
    expect(statSync(path.join(REPO, 'bin/passerelle')).mode & 0o111).toBe(0o111)
  })

  it('has a command that runs the unit tests on the Node line of the image', () => {
    const major = /^FROM\s+node:(\d+)/im.exec(dockerfile)![1]
    expect(pkg.scripts[`test:node${major}`]).toMatch(new RegExp(`node@${major}\\b.*vitest run --project unit`))
  })
})
