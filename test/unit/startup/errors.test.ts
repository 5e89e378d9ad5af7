import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RepoError } from '../../../node/git/repo.js'
import { errnoOf, explainStartFailure, StartupError } from '../../../node/startup/errors.js'
import { lockHolderPid } from '../../../node/startup/lock-holder.js'

const resources = { dataDir: '/var/lib/fleet', listen: ['/ip4/0.0.0.0/tcp/4001'], http: { host: '127.0.0.1', port: 3000 } }

describe('startup/errors', () => {
  it('names the option, the address and how to find the holder of a port in use, in one line', () => {
    const httpErr = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:3000'), { code: 'EADDRINUSE', syscall: 'listen' })
    const h = explainStartFailure(httpErr, resources)
    assert.ok(h instanceof StartupError)
    assert.equal(h.code, 'HTTP_PORT_IN_USE')
    assert.equal(h.message, "--http 127.0.0.1:3000: port 3000 is already in use by another process (see which: ss -ltnp 'sport = :3000'); stop that process or choose another port for --http (port 0 picks a free one)")
    assert.equal(h.cause, httpErr)

    // libp2p's own wording, with its advice about an internal setting: none of that reaches the operator.
    const p2pErr = new Error('Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set `transportManager.faultTolerance` to NO_FATAL:\n\n  /ip4/0.0.0.0/tcp/4001: Error: listen EADDRINUSE: address already in use 0.0.0.0:4001\n      at Server.setupListenHandle\n')
    p2pErr.name = 'UnsupportedListenAddressesError'
    const l = explainStartFailure(p2pErr, resources)
    assert.equal(l?.code, 'LISTEN_PORT_IN_USE')
    assert.match(l?.message ?? '', /^--listen \/ip4\/0\.0\.0\.0\/tcp\/4001: port 4001 is already in use .*ss -ltnp 'sport = :4001'/)
    assert.doesNotMatch(l?.message ?? '', /faultTolerance|\n/)
  })

  it('reads the errno from LevelDB messages and classifies data dir failures', () => {
    const full = Object.assign(new Error('IO error: /var/lib/fleet/db/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
    assert.equal(errnoOf({ message: 'Database failed to open', cause: full }), 'ENOSPC')
    assert.equal(explainStartFailure(full, resources)?.code, 'DATA_DIR_DISK_FULL')
    const locked = Object.assign(new Error('Database failed to open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error('IO error: lock /var/lib/fleet/db/LOCK: already held by process'), { code: 'LEVEL_LOCKED' }) })
    const e = explainStartFailure(locked, resources)
    assert.equal(e?.code, 'DATA_DIR_LOCKED')
    assert.match(e?.message ?? '', /^--data \/var\/lib\/fleet: in use by another fleet process \(.*lock file \/var\/lib\/fleet\/db\/LOCK\); stop that node first/)
  })

  it('words a clone without the configured remote as what to run', () => {
    const e = explainStartFailure(new RepoError('/srv/app', 'has no remote named "upstream" (add it with: git -C /srv/app remote add upstream URL)'), { ...resources, repo: '/srv/app' })
    assert.equal(e?.message, '--repo /srv/app: the clone has no remote named "upstream"; add it (git -C /srv/app remote add upstream URL) or name the right one with --remote')
  })

  it('leaves errors that are not the environment alone (bugs keep their own error)', () => {
    assert.equal(explainStartFailure(new TypeError('x is not a function'), resources), null)
  })

  it('finds the pid holding a lock from /proc/locks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-lock-'))
    try {
      const file = join(dir, 'LOCK')
      writeFileSync(file, '')
      const st = statSync(file)
      const dev = `${((st.dev >> 8) & 0xfff).toString(16).padStart(2, '0')}:${((st.dev & 0xff) | ((st.dev >> 12) & 0xfff00)).toString(16).padStart(2, '0')}`
      const locks = `1: FLOCK  ADVISORY  WRITE 11 00:1a:99 0 EOF\n2: POSIX  ADVISORY  WRITE 4242 ${dev}:${st.ino} 0 EOF\n`
      assert.equal(lockHolderPid(file, locks), 4242)
      assert.equal(lockHolderPid(file, '1: POSIX  ADVISORY  WRITE 11 00:1a:99 0 EOF\n'), null)
      assert.equal(lockHolderPid(join(dir, 'missing'), locks), null)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
