import assert from 'node:assert/strict'
import { gitAt } from '../../node/git/git.js'

/** Subjects of main's history on a (bare) remote. */
export async function mainLog (remote: string): Promise<string[]> {
  return (await gitAt(remote).raw(['log', '--format=%s', 'main'])).split('\n').filter(Boolean)
}

/** Each task's merge commit is on main exactly once. */
export function assertEachMergedOnce (log: string[], ids: string[]): void {
  for (const id of ids) {
    assert.equal(log.filter(s => s.startsWith(`Merge fleet/${id}:`)).length, 1, `task ${id} must be merged exactly once; main: ${log.join(' | ')}`)
  }
}
