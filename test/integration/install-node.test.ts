import assert from 'node:assert/strict'
import { skipUnlessRequired } from '../helpers/environment.js'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { removeDir, tempDir } from '../../scripts/lib/node-process.js'

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')
const SCRIPT = resolve(root, 'scripts/install-node.sh')
const PEER = '12D3KooWGC6TvWhfajpgX6wvJHMYvKpDMXPb3ZnCZ6dMgu4Fdhu6'
const SWARM_HEX = 'ab'.repeat(32)

async function install (args: string[]): Promise<{ code: number | null, out: string, err: string }> {
  const proc = spawn('bash', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve))
  return { code, out, err }
}

/** The lines a dry run shows for a file it would write. */
function shownFile (out: string, path: string): string[] {
  const lines = out.split('\n')
  const start = lines.findIndex(l => l.startsWith(`+ write ${path} `))
  assert.ok(start >= 0, `the dry run writes ${path}:\n${out}`)
  const body: string[] = []
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('|   ') && l !== '|') break
    body.push(l.slice(4))
  }
  return body
}

describe('scripts/install-node.sh', function () {
  this.timeout(60_000)
  let dir: string
  let dirs: { prefix: string, data: string, etc: string, units: string }
  let base: string[]
  beforeEach(() => {
    dir = tempDir('fleet-install-')
    dirs = { prefix: join(dir, 'opt/fleet'), data: join(dir, 'var/fleet'), etc: join(dir, 'etc/fleet'), units: join(dir, 'units') }
    base = ['--dry-run', '--prefix', dirs.prefix, '--data', dirs.data, '--etc', dirs.etc, '--unit-dir', dirs.units, '--user', 'fleet-test-nobody']
  })
  afterEach(() => { removeDir(dir) })

  it('shows a complete install in a dry run, changing nothing and showing no secret', async () => {
    const key = join(dir, 'swarm.key')
    writeFileSync(key, `/key/swarm/psk/1.0.0/\n/base16/\n${SWARM_HEX}\n`)
    const r = await install([...base, '--bootstrap', `/dns4/vm1.example/tcp/4001/p2p/${PEER}`, '--bootstrap', `/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`,
      '--swarm-key', key, '--http', '0.0.0.0:3000', '--generate-token', '--agents', 'A:backend', '--repo', '/srv/repo.git', '--executor', 'run-agent "$TASK"'])
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /^\+ useradd --system --user-group --home-dir \S+var\/fleet --no-create-home --shell \/usr\/sbin\/nologin fleet-test-nobody$/m)
    assert.match(r.out, /npm ci --no-audit --no-fund && npm prune --omit=dev/)
    assert.match(r.out, new RegExp(`^\\+ mv ${dirs.prefix}.new ${dirs.prefix}$`, 'm'), 'the new build is swapped in whole')
    assert.match(r.out, /swarm\.key \(mode 0640, owner root:fleet-test-nobody; secret, not shown\)/)
    assert.ok(!r.out.includes(SWARM_HEX), 'the swarm key is not printed')
    const env = shownFile(r.out, join(dirs.etc, 'fleet.env'))
    for (const line of [
      'FLEET_LISTEN="/ip4/0.0.0.0/tcp/4001"',
      'FLEET_HTTP="0.0.0.0:3000"',
      `FLEET_BOOTSTRAP="/dns4/vm1.example/tcp/4001/p2p/${PEER},/ip4/10.0.0.2/tcp/4001/p2p/${PEER}"`,
      `FLEET_DATA="${dirs.data}"`,
      `FLEET_SWARM_KEY="${join(dirs.etc, 'swarm.key')}"`,
      `FLEET_API_TOKEN_FILE="${join(dirs.etc, 'api.token')}"`,
      'FLEET_AGENTS="A:backend"',
      'FLEET_REPO="/srv/repo.git"',
      'FLEET_EXECUTOR="run-agent \\"$TASK\\""'
    ]) assert.ok(env.includes(line), `env file has ${line}:\n${env.join('\n')}`)
    const unit = shownFile(r.out, join(dirs.units, 'fleet.service'))
    for (const line of ['User=fleet-test-nobody', `EnvironmentFile=${join(dirs.etc, 'fleet.env')}`, 'Restart=on-failure', `WorkingDirectory=${dirs.data}`, 'WantedBy=multi-user.target']) {
      assert.ok(unit.includes(line), `unit has ${line}`)
    }
    assert.ok(unit.some(l => /^ExecStart=\S*node --max-semi-space-size=4 \S+\/dist\/bundle\/main\.js start$/.test(l)), unit.join('\n'))
    assert.ok(unit.includes('Environment=MALLOC_ARENA_MAX=2'), 'the unit runs the node with the memory settings README measures')
    assert.match(r.out, /^\+ systemctl enable fleet --quiet$/m)
    assert.match(r.out, /dry run: nothing was changed/)
    assert.deepEqual(readdirSync(dir), ['swarm.key'], 'nothing was created')
  })

  it('keeps an existing env file, setting only the keys given (and its data dir)', async () => {
    mkdirSync(dirs.etc, { recursive: true })
    writeFileSync(join(dirs.etc, 'fleet.env'), '# edited by hand\nFLEET_DATA="/srv/fleet-data"\nFLEET_HTTP="127.0.0.1:3000"\nFLEET_CLUSTER="old"\nFLEET_LOG_LEVEL="debug"\n')
    const noData = base.filter((a, i) => a !== '--data' && base[i - 1] !== '--data')
    const r = await install([...noData, '--in-place', '--cluster', 'prod', '--set', 'FLEET_LEASE=120'])
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(shownFile(r.out, join(dirs.etc, 'fleet.env')), [
      '# edited by hand', 'FLEET_DATA="/srv/fleet-data"', 'FLEET_HTTP="127.0.0.1:3000"', 'FLEET_CLUSTER="prod"', 'FLEET_LOG_LEVEL="debug"', 'FLEET_LEASE="120"'
    ])
    assert.ok(shownFile(r.out, join(dirs.units, 'fleet.service')).includes('WorkingDirectory=/srv/fleet-data'))
    assert.ok(!r.out.includes('npm ci'), '--in-place uses the built checkout')
  })

  it('refuses bad options before doing anything, saying why', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--bootstrap', '10.0.0.1:4001'], 2, /--bootstrap: "10\.0\.0\.1:4001" is HOST:PORT/],
      [['--bootstrap', `/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`, '--bootstrap', '/ip4/10.0.0.2/tcp/4001'], 2, /--bootstrap entry 2: .* no \/p2p\//],
      [['--http', '10.0.0.5:3000'], 1, /not loopback, so the API needs a token/],
      [['--swarm-key', join(dir, 'missing.key')], 2, /--swarm-key: cannot read/],
      [['--set', 'NOPE=1'], 2, /--set: "NOPE=1" is not FLEET_NAME=VALUE/],
      [['--frobnicate'], 2, /unknown option "--frobnicate"/],
      [['--prefix', 'relative/dir'], 2, /"relative\/dir" must be an absolute path/]
    ]
    for (const [args, code, message] of cases) {
      const r = await install([...base, ...args])
      assert.equal(r.code, code, `${args.join(' ')}: ${r.out}${r.err}`)
      assert.match(r.err, message)
      assert.ok(!r.out.includes('+ write'), `${args.join(' ')} shows no action`)
    }
  })

  it('passes shellcheck (where shellcheck is installed)', function () {
    if (spawnSync('shellcheck', ['--version']).status !== 0) skipUnlessRequired(this, 'the shellcheck test', 'shellcheck is not installed (apt-get install shellcheck; .ci/run does)', process.env.CI === 'true')
    const scripts = ['install-node.sh', 'verify-cluster.sh', 'local-cluster.sh'].map(s => resolve(root, 'scripts', s))
    assert.ok(scripts.every(s => existsSync(s)))
    const r = spawnSync('shellcheck', scripts, { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout)
  })
})
