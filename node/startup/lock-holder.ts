import { readFileSync, statSync } from 'node:fs'

/** Linux's /proc/locks: one line per lock, `N: POSIX ADVISORY WRITE <pid> <maj>:<min>:<inode> <start> <end>`. */
export const PROC_LOCKS = '/proc/locks'

/**
 * The process holding a POSIX lock on `file` (LevelDB's LOCK), or null when none is found or
 * /proc/locks cannot be read (not Linux, or a container without it): only used to say which
 * process an operator should stop, never to decide anything.
 */
export function lockHolderPid (file: string, locksText?: string): number | null {
  let ino: number
  let dev: number
  let text: string
  try {
    const st = statSync(file)
    ino = st.ino
    dev = st.dev
    text = locksText ?? readFileSync(PROC_LOCKS, 'utf8')
  } catch {
    return null
  }
  // dev_t as the kernel prints it in /proc/locks (hex major:minor of the Linux encoding).
  const major = ((dev >> 8) & 0xfff).toString(16).padStart(2, '0')
  const minor = ((dev & 0xff) | ((dev >> 12) & 0xfff00)).toString(16).padStart(2, '0')
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line)
    if (m === null || Number(m[4]) !== ino) continue
    if (m[2]?.padStart(2, '0') !== major || m[3]?.padStart(2, '0') !== minor) continue
    const pid = Number(m[1])
    if (pid !== process.pid) return pid
  }
  return null
}
