import { readFileSync, statSync } from 'node:fs'

export const SECRET_FILE_UNREADABLE = 'SECRET_FILE_UNREADABLE'

/** The mode and owner of `path` and who we run as: why a read or write was refused (root ignores modes). */
export function accessHint (path: string): string {
  try {
    const st = statSync(path)
    return `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid} gid ${st.gid}; this process runs as uid ${process.getuid?.() ?? -1}`
  } catch (err) {
    const uid = process.getuid?.() ?? -1
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? `a directory on its path is closed to this process, uid ${uid}` : `it cannot be inspected (${(err as NodeJS.ErrnoException).code ?? 'error'})`
  }
}

/**
 * A secret file (swarm key, API token) exists but cannot be read: a problem of the machine, not
 * of the option (exit 1, not 2). A missing file stays the caller's own error (likely a typo).
 */
export class SecretFileError extends Error {
  override name = 'SecretFileError'
  readonly code = SECRET_FILE_UNREADABLE
  constructor (readonly what: string, readonly path: string, readonly errno: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Reads a secret file. ENOENT is re-thrown as is (the caller words "no such file"); any other
 * failure is a SecretFileError naming the file, the cause (with mode and owner) and the fix.
 */
export function readSecretFile (path: string, what: string, option: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'EIO'
    if (errno === 'ENOENT') throw err
    const problem = errno === 'EISDIR'
      ? 'is a directory, not a file'
      : `cannot read it (${errno}${errno === 'EACCES' ? ': permission denied' : ''}; ${accessHint(path)})`
    const fix = errno === 'EISDIR'
      ? `point ${option} at the ${what} itself`
      : `make it readable for this user (chown <user> ${path}; keep it mode 0600) or point ${option} at another file`
    throw new SecretFileError(what, path, errno, `${what} ${path}: ${problem}; ${fix}`, { cause: err })
  }
}
