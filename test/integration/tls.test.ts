import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { CLI_ENTRY, killAll, removeDir, runCli, startNode, tempDir } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { findExecutable, skipUnlessRequired } from '../helpers/environment.js'

describe('HTTPS on the node', function () {
  this.timeout(180_000)
  const dirs: string[] = []
  after(async () => {
    await killAll()
    for (const d of dirs) removeDir(d)
  })

  it('serves the API over TLS; the CLI and fleet agent refuse an unknown CA and work with --ca', async function () {
    // The certificate is made with the openssl CLI (Debian package openssl).
    if (findExecutable('openssl') === null) skipUnlessRequired(this, 'the TLS test', 'no openssl on PATH (apt-get install openssl)')
    const dir = tempDir('fleet-tls-')
    dirs.push(dir)
    const cert = join(dir, 'cert.pem')
    const key = join(dir, 'key.pem')
    // A self-signed certificate for 127.0.0.1, made here.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    const mismatched = await runCli(['start', '--tls-cert', cert, '--data', join(dir, 'x')])
    assert.equal(mismatched.code, 2)
    assert.match(mismatched.stderr, /invalid --tls-cert: HTTPS needs both/)

    const n = await startNode({ extraArgs: ['--tls-cert', cert, '--tls-key', key] })
    dirs.push(n.dataDir)
    assert.match(n.url, /^https:\/\/127\.0\.0\.1:\d+$/)

    const untrusted = await runCli(['status', '--node', n.url])
    assert.equal(untrusted.code, 1)
    assert.equal(untrusted.stderr.trim().split('\n').length, 1, untrusted.stderr)
    assert.match(untrusted.stderr, /TLS: self-signed certificate not trusted \(pass --ca FILE\)/)
    const trusted = await runCli(['status', '--node', n.url, '--ca', cert])
    assert.equal(trusted.code, 0, trusted.stderr)
    assert.match(trusted.stdout, new RegExp(`http +${n.url}`))
    const viaEnv = await runCli(['agents', '--json'], { FLEET_NODE: n.url, FLEET_CA: cert })
    assert.equal(viaEnv.code, 0, viaEnv.stderr)

    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    await cloneRepo(remote, join(dir, 'clone'))
    const agentArgs = ['agent', '--node', n.url, '--agent', 'A:dev', '--repo', join(dir, 'clone'), '--data', join(dir, 'agent')]
    const refused = await runCli(agentArgs)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^fleet: agent: no fleet node answers \(.*TLS: self-signed certificate not trusted/)

    const agent = spawn(process.execPath, [CLI_ENTRY, ...agentArgs, '--ca', cert], { env: { ...process.env, FLEET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    agent.stdout.on('data', (d: Buffer) => { out += d.toString() })
    agent.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>((resolve) => agent.on('exit', resolve))
    try {
      await waitFor(() => out.includes('fleet agent started') || (agent.exitCode !== null ? Promise.reject(new Error(out)) : false), 'the agent to start over HTTPS', 60_000)
      const agents = await runCli(['agents', '--json', '--node', n.url, '--ca', cert])
      assert.deepEqual((JSON.parse(agents.stdout) as Array<{ id: string }>).map(a => a.id), ['A'])
    } finally {
      agent.kill('SIGTERM')
    }
    assert.equal(await exited, 0, out)
  })
})
