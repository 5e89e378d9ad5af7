import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')

// `npx fleet` runs the package's bin through a symlink npm keeps in its own cache. npm sets the
// execute bit only when it first creates that cache entry, so a fresh clone at a path used before
// (CI clones to the same folder every run) gets a freshly built, non-executable file and
// "fleet: Permission denied". The build sets the bit itself; this runs the bin as a program.
describe('fleet bin', () => {
  it('is an executable program that prints its usage', async () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    const target = pkg.bin.fleet
    assert.ok(target, 'package.json names a fleet bin')
    const bin = resolve(root, target)
    const { stdout } = await promisify(execFile)(bin, ['--help'], { timeout: 30_000 })
    assert.match(stdout, /usage: fleet <command>/, `running ${bin} --help directly`)
  })
})
