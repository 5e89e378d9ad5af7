/**
 * Git defaults that option tables and `--help` show. Kept apart from repo.ts and merge-runner.ts,
 * which load simple-git: `fleet start` without `--repo` never needs it (about 0.1 s of loading).
 */

export const DEFAULT_REMOTE = 'origin'
export const DEFAULT_MAIN_BRANCH = 'main'
/** How long the `--check` command may run for one merge. */
export const DEFAULT_CHECK_TIMEOUT_MS = 10 * 60_000
