import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getJson } from '../helpers/http.js'
import { holdPort } from '../helpers/ports.js'
import { tmpfsOrSkip } from '../helpers/tmpfs.js'
import type { Tmpfs } from '../../scripts/lib/tmpfs.js'
import { CLI_ENTRY, createClusterSecrets, killAll, removeDir, runCli, startNode, tempDir } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const PEER = '12D3KooWGEqMXHKZ9TNj3JSMga99TXk5J7aB4qHmwia4WXUPU2D2'

/**
 * `fleet start` on free ports with these options; it is expected to fail at start. Logs below
 * error are off: on a busy machine the event-loop watchdog may warn during start, and the line
 * under test is the failure itself.
 */
async function start (args: string[], opts: { uid?: number } = {}): Promise<{ code: number | null, stderr: string }> {
  const base = ['start', '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0']
  if (opts.uid === undefined) return await runCli([...base, ...args], { FLEET_LOG_LEVEL: 'error' })
  const r = spawnSync(process.execPath, [CLI_ENTRY, ...base, ...args], { uid: opts.uid, gid: opts.uid, env: { ...process.env, FLEET_LOG_LEVEL: 'error' }, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stderr: r.stderr }
}

/** Exit 1 (not 2: the options are fine, the machine is not) and exactly one line on stderr, matching `line`. */
function oneLineFailure (r: { code: number | null, stderr: string }, line: RegExp): void {
  const lines = r.stderr.split('\n').filter(l => l !== '')
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`)
  assert.match(lines[0] ?? '', line)
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`)
}

describe('start-up failures caused by the environment: one line, exit 1', function () {
  this.timeout(120_000)
  const dirs: string[] = []
  const mounts: Tmpfs[] = []
  const dir = (): string => { const d = tempDir(); dirs.push(d); return d }
  afterEach(async () => {
    await killAll()
    for (const m of mounts.splice(0)) m.unmount()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('HTTP port in use: names --http, the address and how to find the holder', async () => {
    const held = await holdPort()
    try {
      const r = await start(['--data', dir(), '--http', `127.0.0.1:${held.port}`])
      oneLineFailure(r, new RegExp(`^fleet: --http 127\\.0\\.0\\.1:${held.port}: port ${held.port} is already in use by another process \\(see which: ss -ltnp 'sport = :${held.port}'\\); stop that process or choose another port for --http`))
    } finally {
      await held.release()
    }
  })

  it('libp2p port in use: names --listen and the address, without advice about libp2p internals', async () => {
    const held = await holdPort()
    try {
      const r = await start(['--data', dir(), '--listen', `/ip4/127.0.0.1/tcp/${held.port}`])
      oneLineFailure(r, new RegExp(`^fleet: --listen /ip4/127\\.0\\.0\\.1/tcp/${held.port}: port ${held.port} is already in use by another process \\(see which: ss -ltnp 'sport = :${held.port}'\\)`))
      assert.doesNotMatch(r.stderr, /faultTolerance|NO_FATAL|Error:/)
    } finally {
      await held.release()
    }
  })

  it('data dir held by a running node: says another fleet process holds it, with the LOCK file and its pid', async () => {
    const running = await startNode({ dataDir: dir() })
    const r = await start(['--data', running.dataDir])
    oneLineFailure(r, new RegExp(`^fleet: --data ${running.dataDir}: in use by another fleet process \\(pid ${running.proc.pid ?? 0} holds the lock file ${join(running.dataDir, 'db', 'LOCK')}\\); stop that node first`))
    assert.equal((await getJson<{ status: string }>(running.url, '/health')).status, 'healthy', 'the running node is unaffected')
  })

  it('a file where the data dir (or one of its parents) should be', async () => {
    const file = join(dir(), 'fleet-data')
    writeFileSync(file, 'not a directory\n')
    oneLineFailure(await start(['--data', file]), new RegExp(`^fleet: --data ${file}: is a file, not a directory; move that file away or choose another --data$`))
    oneLineFailure(await start(['--data', join(file, 'node1')]), new RegExp(`^fleet: --data ${file}/node1: ${file} is a file, where a directory should be;`))
  })

  it('a data dir on a read-only file system', async function () {
    const ro = tmpfsOrSkip(this, 256, { readOnly: true })
    mounts.push(ro)
    oneLineFailure(await start(['--data', ro.dir]), new RegExp(`^fleet: --data ${ro.dir}: cannot write there \\(EROFS: read-only file system, at ${ro.dir}/peer\\.key\\.tmp\\); choose a --data on a writable file system$`))
  })

  it('a data dir on a full file system', async function () {
    const full = tmpfsOrSkip(this, 64)
    mounts.push(full)
    // Fill it up completely: not one more block fits.
    spawnSync('dd', ['if=/dev/zero', `of=${join(full.dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' })
    oneLineFailure(await start(['--data', join(full.dir, 'node')]), new RegExp(`^fleet: --data ${full.dir}/node: no space left on its file system \\(ENOSPC[^)]*\\); free space there \\(df -h ${full.dir}/node\\) or choose another --data$`))
  })

  it('--repo that is not a git clone, or has no such remote', async () => {
    const notRepo = dir()
    oneLineFailure(await start(['--data', dir(), '--repo', notRepo]), new RegExp(`^fleet: --repo ${notRepo}: not a git repository; give the path of a clone`))
    const clone = dir()
    spawnSync('git', ['init', '-q', clone])
    oneLineFailure(await start(['--data', dir(), '--repo', clone, '--remote', 'upstream']), new RegExp(`^fleet: --repo ${clone}: the clone has no remote named "upstream"; add it \\(git -C ${clone} remote add upstream URL\\)`))
  })

  it('swarm key or token file that cannot be read: a directory in its place, or a mode that locks this user out', async () => {
    const secrets = await createClusterSecrets()
    dirs.push(secrets.dir)
    const keyDir = join(secrets.dir, 'swarm.key.d')
    mkdirSync(keyDir)
    oneLineFailure(await start(['--data', dir(), '--swarm-key', keyDir]), new RegExp(`^fleet: swarm key file ${keyDir}: is a directory, not a file; point --swarm-key at the swarm key file itself$`))

    // Root ignores file modes: run the node as "nobody" to be refused for real (if it can run as nobody here).
    const nobody = 65534
    const probe = spawnSync(process.execPath, [CLI_ENTRY, 'key', 'token'], { uid: nobody, gid: nobody, encoding: 'utf8' })
    if (process.getuid?.() !== 0 || probe.status !== 0) {
      process.stderr.write(`      (mode check skipped: cannot run the CLI as uid ${nobody} here${probe.stderr === '' ? '' : `: ${probe.stderr.split('\n')[0] ?? ''}`})\n`)
      return
    }
    chmodSync(secrets.dir, 0o755) // the file's own mode is what must refuse, not its directory's
    chmodSync(secrets.swarmKeyFile, 0o600)
    const data = dir()
    chmodSync(data, 0o777)
    oneLineFailure(await start(['--data', data, '--swarm-key', secrets.swarmKeyFile], { uid: nobody }),
      new RegExp(`^fleet: swarm key file ${secrets.swarmKeyFile}: cannot read it \\(EACCES: permission denied; mode 0600, owner uid 0 gid 0; this process runs as uid ${nobody}\\); make it readable for this user`))
    oneLineFailure(await start(['--data', data, '--api-token-file', secrets.tokenFile], { uid: nobody }),
      new RegExp(`^fleet: API token file ${secrets.tokenFile}: cannot read it \\(EACCES: permission denied; mode 0600`))
  })

  it('prints the stack trace only with --log-level debug', async () => {
    const file = join(dir(), 'f')
    writeFileSync(file, '')
    const r = await start(['--data', file, '--log-level', 'debug'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^fleet: --data .*: is a file, not a directory;.*\nStartupError: .*\n\s+at /)
    assert.match(r.stderr, /caused by: Error: EEXIST/)
  })
})

describe('a bootstrap address whose name does not resolve', function () {
  this.timeout(120_000)
  afterEach(async () => { await killAll() })

  it('is a warning, not an exit: the node keeps retrying and /health, /api/peers and fleet status say why it is alone', async () => {
    const good = await startNode()
    const bad = `/dns4/no-such-host.fleet-test.invalid/tcp/4001/p2p/${PEER}`
    const n = await startNode({ bootstrap: [good.addr, bad] })
    try {
      await waitFor(() => n.stderr.find(l => l.includes('"level":40') && l.includes('bootstrap address does not resolve')), 'a warning naming the name that does not resolve')
      assert.ok(n.stderr.some(l => l.includes('no-such-host.fleet-test.invalid')))
      interface Dial { peerId: string, state: string, retryingSince: number | null, failures: number, lastError: string | null, nextAttemptAt: number | null }
      const dials = await waitFor(async () => {
        const h = await getJson<{ status: string, bootstrap: Dial[] }>(n.url, '/health')
        const b = h.bootstrap.find(x => x.peerId === PEER)
        if (h.bootstrap.find(x => x.peerId === good.peerId)?.state !== 'connected' || (b?.failures ?? 0) < 2) return null
        // Connected for libp2p first, then a peer of the replica once its announcements arrive.
        const listed = await getJson<{ peers: Array<{ peerId: string }> }>(n.url, '/api/peers')
        return listed.peers.some(p => p.peerId === good.peerId) ? h.bootstrap : null
      }, 'the good bootstrap peer connected (and listed in /api/peers) and the bad one retried at least twice', 60_000)
      const b = dials.find(x => x.peerId === PEER)
      assert.equal(b?.state === 'retrying' || b?.state === 'dialing', true)
      assert.match(b?.lastError ?? '', /^cannot resolve no-such-host\.fleet-test\.invalid: /)
      assert.equal(typeof b?.retryingSince, 'number')
      const peers = await getJson<{ peers: Array<{ peerId: string, bootstrap: boolean }>, bootstrap: Dial[] }>(n.url, '/api/peers')
      assert.deepEqual(peers.peers.map(p => [p.peerId, p.bootstrap]), [[good.peerId, true]])
      assert.deepEqual(peers.bootstrap.map(x => x.peerId).sort(), [good.peerId, PEER].sort())

      const status = await runCli(['status', '--node', n.url])
      assert.equal(status.code, 0, status.stderr)
      assert.match(status.stdout, /^BOOTSTRAP +ADDRESS +STATE +SINCE +TRIES +NEXT +LAST ERROR$/m)
      assert.match(status.stdout, /^12D3…\S+ +\/dns4\/no-such-host\.fleet-test\.invalid\/tcp\/4001 +(retrying|dialing) +\d+ s ago +\d+ +\S.* +cannot resolve no-such-host\.fleet-test\.invalid: \S+$/m)
      assert.match(status.stdout, new RegExp(`^\\S+ +${good.addr.replace(/\/p2p\/.*$/, '').replace(/[./]/g, '\\$&')}( \\+\\d+)? +connected +— +0 +— *$`, 'm'))
      assert.equal(n.proc.exitCode, null, 'the node is still running')
    } finally {
      await killAll()
    }
  })
})
