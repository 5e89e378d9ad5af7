import { isFleetBranch } from './branches.js'
import { gitErrorText } from './git.js'
import type { GitRepo } from './repo.js'
import type { MergeEntry } from './merge-runner.js'

/** What became of a merged entry's branch on the remote. */
export type TidyResult = 'deleted' | 'gone' | 'kept'

/**
 * Deletes a merged task's `fleet/<taskId>` from the remote, so the remote does not collect one
 * branch per task forever. Only the commit that was merged is deleted: the push carries a lease
 * on it, so a newer attempt pushed to the same branch meanwhile stays (git refuses the delete).
 * Branches outside fleet/ (queued by hand through the API) are never touched; an ejected entry's
 * branch is kept by the caller, for whoever redoes the task to look at.
 */
export async function deleteMergedBranch (repo: GitRepo, entry: MergeEntry, signal?: AbortSignal): Promise<TidyResult> {
  if (!isFleetBranch(entry.branch)) return 'kept'
  let expect = entry.commit ?? null
  if (expect === null) {
    // No queued commit: the tip counts, and only if main holds it.
    expect = await repo.fetchBranch(entry.branch, signal)
    if (expect === null) return 'gone'
    const main = await repo.fetchMain(signal)
    if (!(await repo.isAncestor(expect, main))) return 'kept'
  }
  const ref = `refs/heads/${entry.branch}`
  try {
    await repo.exclusive(async () => {
      await repo.git(repo.path, signal).raw(['push', `--force-with-lease=${ref}:${expect}`, repo.remote, `:${ref}`])
    })
  } catch (err) {
    const text = gitErrorText(err)
    if (/remote ref does not exist|unable to delete .*: remote ref does not exist/i.test(text)) return 'gone'
    if (/stale info|\[rejected\]/i.test(text)) {
      // The lease failed: the branch moved on (kept) or is no longer there at all (gone).
      const listed = await repo.git().raw(['ls-remote', '--heads', repo.remote, ref])
      return listed.trim() === '' ? 'gone' : 'kept'
    }
    throw err
  } finally {
    // Our copy of the remote branch goes too (fetches made it); harmless if absent.
    await repo.git().raw(['update-ref', '-d', repo.remoteRef(entry.branch)]).catch(() => undefined)
  }
  return 'deleted'
}
