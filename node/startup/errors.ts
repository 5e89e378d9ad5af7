import { statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { firstLine, StorageUnavailableError } from '../../crdt/storage/errors.js'
import { IdentityError } from '../../bootstrap/identity.js'
import { RepoError } from '../git/repo-error.js'
import { accessHint } from '../../bootstrap/secret-file.js'
import { lockHolderPid } from './lock-holder.js'

/**
 * Start-up failures caused by the environment (a port taken, a data dir held by another node, a
 * full disk, a clone that is not one): one line naming the resource, the cause and the fix. The
 * CLI prints it and exits 1 (2 stays for bad options); the original error is kept as `cause`
 * for --log-level debug.
 */
export const STARTUP_ERROR_CODES = [
  'HTTP_PORT_IN_USE', 'HTTP_ADDRESS_UNAVAILABLE', 'HTTP_PORT_FORBIDDEN',
  'LISTEN_PORT_IN_USE', 'LISTEN_ADDRESS_UNAVAILABLE', 'LISTEN_PORT_FORBIDDEN', 'LISTEN_FAILED',
  'DATA_DIR_LOCKED', 'DATA_DIR_NOT_DIRECTORY', 'DATA_DIR_NOT_WRITABLE', 'DATA_DIR_DISK_FULL', 'DATA_DIR_IDENTITY_INVALID',
  'REPO_INVALID'
] as const
export type StartupErrorCode = typeof STARTUP_ERROR_CODES[number]

export class StartupError extends Error {
  override name = 'StartupError'
  constructor (readonly code: StartupErrorCode, readonly resource: string, problem: string, fix: string, options?: { cause?: unknown }) {
    super(oneLine(`${resource}: ${problem}; ${fix}`), options)
  }
}

/** What the node was starting with: the resources a failure can be about. */
export interface StartupResources {
  dataDir: string
  listen: string[]
  http: { host: string, port: number }
  repo?: string
}

function oneLine (s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim()
}

const ERRNO_TEXT: Array<[RegExp, string]> = [
  [/no space left on device/i, 'ENOSPC'],
  [/disk quota exceeded/i, 'EDQUOT'],
  [/read-only file system/i, 'EROFS'],
  [/permission denied/i, 'EACCES'],
  [/operation not permitted/i, 'EPERM'],
  [/not a directory/i, 'ENOTDIR'],
  [/file exists/i, 'EEXIST']
]

/**
 * The errno behind an error: its own `code` when it is one, else read from the message of it or
 * of its causes (LevelDB reports "IO error: <file>: No space left on device" without a code).
 */
export function errnoOf (err: unknown): string | null {
  for (let e = err as { code?: unknown, message?: unknown, cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code
    const text = typeof e.message === 'string' ? e.message : ''
    for (const [re, code] of ERRNO_TEXT) if (re.test(text)) return code
  }
  return null
}

function causes (err: unknown): unknown[] {
  const out: unknown[] = []
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) out.push(e)
  return out
}

/** `path`, or its closest ancestor that exists (a file about to be created has no mode yet). */
function existing (path: string): string {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      statSync(p)
      return p
    } catch {
      if (dirname(p) === p) return p
    }
  }
}

/** The first component of `path` (or path itself) that exists and is not a directory. */
function fileInTheWay (path: string): string | null {
  const parts: string[] = []
  for (let p = resolve(path); ; p = dirname(p)) {
    parts.unshift(p)
    if (dirname(p) === p) break
  }
  for (const p of parts) {
    try {
      if (!statSync(p).isDirectory()) return p
    } catch {
      return null
    }
  }
  return null
}

function dataDirError (err: unknown, dataDir: string): StartupError | null {
  const resource = `--data ${dataDir}`
  const lockFile = join(dataDir, 'db', 'LOCK')
  if (causes(err).some(e => (e as { code?: unknown }).code === 'LEVEL_LOCKED')) {
    const pid = lockHolderPid(lockFile)
    return new StartupError('DATA_DIR_LOCKED', resource,
      `in use by another fleet process (${pid === null ? 'another process' : `pid ${pid}`} holds the lock file ${lockFile})`,
      'stop that node first (a data dir belongs to one node), or give this node its own --data', { cause: err })
  }
  if (err instanceof IdentityError) return new StartupError('DATA_DIR_IDENTITY_INVALID', resource, err.message, 'restore the file from a backup', { cause: err })
  const errno = errnoOf(err)
  const where = (err as { path?: unknown }).path
  const writing = typeof where === 'string' ? `, at ${where}` : ''
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StartupError('DATA_DIR_DISK_FULL', resource,
        `no space left on its file system (${errno}${writing})`,
        `free space there (df -h ${dataDir}) or choose another --data`, { cause: err })
    case 'EEXIST':
    case 'ENOTDIR': {
      const file = fileInTheWay(dataDir)
      if (file === null) break
      return new StartupError('DATA_DIR_NOT_DIRECTORY', resource,
        file === resolve(dataDir) ? 'is a file, not a directory' : `${file} is a file, where a directory should be`,
        'move that file away or choose another --data', { cause: err })
    }
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StartupError('DATA_DIR_NOT_WRITABLE', resource,
        errno === 'EROFS' ? `cannot write there (EROFS: read-only file system${writing})` : `cannot write there (${errno}${writing}; ${accessHint(existing(typeof where === 'string' ? where : dataDir))})`,
        errno === 'EROFS' ? 'choose a --data on a writable file system' : `make it writable for this user (chown -R <user> ${dataDir}) or choose another --data`, { cause: err })
  }
  return null
}

const LISTEN_FIX: Record<string, [StartupErrorCode, (port: string) => string, string]> = {
  EADDRINUSE: ['LISTEN_PORT_IN_USE', (port) => `port ${port} is already in use by another process (see which: ss -ltnp 'sport = :${port}')`, 'stop that process or choose another port'],
  EADDRNOTAVAIL: ['LISTEN_ADDRESS_UNAVAILABLE', () => 'this machine has no such address (EADDRNOTAVAIL; its addresses: ip -brief addr)', 'use one of its own addresses, or 0.0.0.0 for all'],
  EACCES: ['LISTEN_PORT_FORBIDDEN', (port) => `not allowed to listen on port ${port} (EACCES: ports below 1024 need root or CAP_NET_BIND_SERVICE)`, 'use a port above 1023']
}

function httpError (err: unknown, http: StartupResources['http']): StartupError | null {
  const e = err as { code?: unknown, syscall?: unknown }
  if (e.syscall !== 'listen' || typeof e.code !== 'string') return null
  const fix = LISTEN_FIX[e.code]
  if (fix === undefined) return null
  const code = fix[0].replace('LISTEN_', 'HTTP_') as StartupErrorCode
  const host = http.host.includes(':') ? `[${http.host}]` : http.host
  return new StartupError(code, `--http ${host}:${http.port}`, fix[1](String(http.port)), `${fix[2]} for --http (port 0 picks a free one)`, { cause: err })
}

/**
 * libp2p reports listen failures as one UnsupportedListenAddressesError whose message lists each
 * address with the socket error (and advice about a libp2p setting the operator cannot set):
 * pick out the first failed address and its errno.
 */
function libp2pListenError (err: unknown, listen: string[]): StartupError | null {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return null
  const m = /^\s*(\/\S+): \w*Error: (?:listen )?(E[A-Z]+)\b/m.exec(err.message)
  const addr = m?.[1] ?? listen[0] ?? '(none)'
  const port = /\/tcp\/(\d+)/.exec(addr)?.[1] ?? '?'
  const fix = m?.[2] === undefined ? undefined : LISTEN_FIX[m[2]]
  if (fix === undefined) {
    return new StartupError('LISTEN_FAILED', `--listen ${addr}`, `cannot listen there (${firstLine(err).replace(/, you may need to.*$/, '')})`, 'check the address, or choose another --listen', { cause: err })
  }
  return new StartupError(fix[0], `--listen ${addr}`, fix[1](port), `${fix[2]} for --listen`, { cause: err })
}

function repoError (err: unknown, repo: string | undefined): StartupError | null {
  if (!(err instanceof RepoError)) return null
  const path = repo ?? err.path
  const reason = err.message.slice(`git repository ${err.path}: `.length)
  if (reason.startsWith('not a git repository')) {
    let problem = 'not a git repository'
    try {
      if (!statSync(path).isDirectory()) problem = 'is a file, not a git clone'
    } catch {
      problem = 'no such directory'
    }
    return new StartupError('REPO_INVALID', `--repo ${path}`, problem, `give the path of a clone of the shared remote (git clone URL ${path})`, { cause: err })
  }
  const remote = /remote named "([^"]+)"/.exec(reason)?.[1]
  if (remote !== undefined) {
    return new StartupError('REPO_INVALID', `--repo ${path}`, `the clone has no remote named "${remote}"`, `add it (git -C ${path} remote add ${remote} URL) or name the right one with --remote`, { cause: err })
  }
  return new StartupError('REPO_INVALID', `--repo ${path}`, firstLine(reason), 'check the clone', { cause: err })
}

/**
 * The StartupError an environment failure during start becomes, or null for anything else (a
 * bug: the caller keeps the original error). Classification is by error shape, so the node's
 * start sequence needs no try/catch per step.
 */
export function explainStartFailure (err: unknown, r: StartupResources): StartupError | null {
  if (err instanceof StartupError) return err
  return httpError(err, r.http) ??
    libp2pListenError(err, r.listen) ??
    repoError(err, r.repo) ??
    (err instanceof StorageUnavailableError || isFsOrStorageError(err) ? dataDirError(err, r.dataDir) : null)
}

/** Errors of the file system or of LevelDB (the only other I/O at start). */
function isFsOrStorageError (err: unknown): boolean {
  return err instanceof IdentityError || causes(err).some((e) => {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' && (/^E[A-Z]+$/.test(code) || code.startsWith('LEVEL_'))
  })
}
