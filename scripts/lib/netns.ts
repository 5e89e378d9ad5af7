import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Linux network namespaces as a small lab of "VMs" for multi-host tests: each host gets its own
 * namespace with one IP on a bridge (through a veth pair), so nodes bind the same ports on
 * different addresses, as on separate machines. Links can be cut and the hosts partitioned into
 * groups. Needs root and iproute2; see netnsUnavailable().
 *
 * Addresses: 10.231.X.0/24 (X picked per lab, so concurrent labs do not collide), host i at
 * 10.231.X.(i+1), the bridge (the root namespace, where the test runs) at 10.231.X.254.
 * Only these addresses and loopback are ever used.
 */

export const LAB_NET = '10.231'
/** Interface and namespace names start with this, then the creating process's pid. */
export const LAB_PREFIX = 'flt'
export const BRIDGE_HOST = 254
export const HOSTS_DOMAIN = 'fleet.test'
const NETNS_ETC = '/etc/netns'

export class NetnsError extends Error {
  override name = 'NetnsError'
}

export interface LabHost {
  index: number
  /** Namespace name (for `ip netns exec`). */
  ns: string
  ip: string
  /** Resolves to `ip` inside every namespace of the lab (through /etc/netns/NS/hosts). */
  hostname: string
  /** The veth end in the root namespace, attached to the bridge (cut() takes it down). */
  veth: string
}

export interface NetnsLabInit {
  /** Number of hosts, 1-200. */
  size: number
  /** Third octet of the lab's /24; default: a free one. */
  subnet?: number
}

interface Exec { code: number, stdout: string, stderr: string }

async function run (cmd: string, args: string[], input?: string): Promise<Exec> {
  return await new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr: stderr === '' && err !== null ? err.message : stderr })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

async function ip (...args: string[]): Promise<string> {
  const r = await run('ip', args)
  if (r.code !== 0) throw new NetnsError(`ip ${args.join(' ')}: ${r.stderr.trim()}`)
  return r.stdout
}

function ipSync (...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 })
  } catch { /* best effort: already gone */ }
}

/**
 * Why network namespaces cannot be used here (so a test can skip saying so), or null when they
 * can: checks root, iproute2, and actually creates and removes a namespace and a veth pair.
 */
export async function netnsUnavailable (): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs root (CAP_NET_ADMIN)'
  const v = await run('ip', ['-V'])
  if (v.code !== 0) return `iproute2 is not installed ("ip -V" failed: ${v.stderr.trim()})`
  const ns = `${LAB_PREFIX}${process.pid}probe`
  const veth = `${LAB_PREFIX}${process.pid}pr`
  try {
    await ip('netns', 'add', ns)
    await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    return null
  } catch (err) {
    return `cannot create a network namespace with a veth pair: ${(err as Error).message}`
  } finally {
    ipSync('link', 'del', veth)
    ipSync('netns', 'del', ns)
  }
}

let labCounter = 0
const openLabs = new Set<NetnsLab>()
let exitHookInstalled = false

/** Whatever happens to the test (a failed assertion, an exception, process.exit), labs go away. */
function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const lab of openLabs) lab.teardownSync()
  })
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes namespaces, interfaces and hosts files that labs of dead processes left behind (a
 * test runner killed with SIGKILL cannot clean up). Labs of live processes are left alone.
 */
export async function sweepStaleLabs (): Promise<string[]> {
  const stale = (name: string): boolean => {
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)`).exec(name)
    return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))
  }
  const removed: string[] = []
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const name = line.split(' ')[0] ?? ''
    if (!stale(name)) continue
    await killNamespaceProcesses(name)
    ipSync('netns', 'del', name)
    rmSync(join(NETNS_ETC, name), { recursive: true, force: true })
    removed.push(name)
  }
  for (const line of (await ip('-o', 'link', 'show')).split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1] ?? ''
    if (!stale(name)) continue
    ipSync('link', 'del', name)
    removed.push(name)
  }
  try {
    for (const name of readdirSync(NETNS_ETC)) {
      if (stale(name)) rmSync(join(NETNS_ETC, name), { recursive: true, force: true })
    }
  } catch { /* no /etc/netns */ }
  return removed
}

async function killNamespaceProcesses (ns: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', ns])
  for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
}

async function pickSubnet (): Promise<number> {
  const used = new Set<number>()
  const re = new RegExp(`inet ${LAB_NET.replace('.', '\\.')}\\.(\\d+)\\.`, 'g')
  for (const m of (await ip('-o', '-4', 'addr', 'show')).matchAll(re)) used.add(Number(m[1]))
  // Start at a spot that depends on the pid, so two test runs starting together rarely race.
  const start = (process.pid + labCounter * 7) % 250
  for (let k = 0; k < 250; k++) {
    const x = (start + k) % 250
    if (!used.has(x)) return x
  }
  throw new NetnsError(`no free /24 left in ${LAB_NET}.0.0/16`)
}

export class NetnsLab {
  readonly hosts: LabHost[]
  /** The root namespace's address on the lab bridge. */
  readonly gateway: string
  readonly bridge: string
  private blackholes: Array<{ ns: string, ip: string }> = []
  private tornDown = false

  private constructor (readonly id: string, readonly subnet: number, size: number) {
    this.bridge = `${id}br`
    this.gateway = `${LAB_NET}.${subnet}.${BRIDGE_HOST}`
    this.hosts = Array.from({ length: size }, (_, index) => ({
      index,
      ns: `${id}n${index + 1}`,
      ip: `${LAB_NET}.${subnet}.${index + 1}`,
      hostname: `node${index + 1}.${HOSTS_DOMAIN}`,
      veth: `${id}v${index + 1}`
    }))
  }

  /**
   * Creates the namespaces, the bridge and one veth pair per host, and a hosts file per
   * namespace naming every host. On any failure, whatever was created is removed again.
   */
  static async create (init: NetnsLabInit): Promise<NetnsLab> {
    if (!Number.isInteger(init.size) || init.size < 1 || init.size > 200) throw new NetnsError(`size must be 1-200, not ${init.size}`)
    await sweepStaleLabs()
    const id = `${LAB_PREFIX}${process.pid}${String.fromCharCode(97 + (labCounter++ % 26))}`
    const subnet = init.subnet ?? await pickSubnet()
    const lab = new NetnsLab(id, subnet, init.size)
    openLabs.add(lab)
    installExitHook()
    try {
      await lab.build()
    } catch (err) {
      await lab.teardown()
      throw err
    }
    return lab
  }

  private async build (): Promise<void> {
    const hostsFile = ['127.0.0.1 localhost', '::1 localhost', ...this.hosts.map(h => `${h.ip} ${h.hostname}`)].join('\n') + '\n'
    await ip('link', 'add', 'name', this.bridge, 'type', 'bridge')
    // Bridged frames must not go through the host's iptables (br_netfilter), whatever its rules.
    await run('ip', ['link', 'set', this.bridge, 'type', 'bridge', 'nf_call_iptables', '0'])
    await ip('addr', 'add', `${this.gateway}/24`, 'dev', this.bridge)
    await ip('link', 'set', this.bridge, 'up')
    await Promise.all(this.hosts.map(async (h) => {
      await ip('netns', 'add', h.ns)
      await ip('link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns)
      await ip('link', 'set', h.veth, 'master', this.bridge, 'up')
      await ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0')
      await ip('-n', h.ns, 'link', 'set', 'eth0', 'up')
      await ip('-n', h.ns, 'link', 'set', 'lo', 'up')
      // `ip netns exec` bind-mounts /etc/netns/NS/* over /etc: names resolve like on real VMs.
      mkdirSync(join(NETNS_ETC, h.ns), { recursive: true })
      writeFileSync(join(NETNS_ETC, h.ns, 'hosts'), hostsFile)
    }))
  }

  host (i: number): LabHost {
    const h = this.hosts[i]
    if (h === undefined) throw new NetnsError(`no host ${i} (the lab has ${this.hosts.length})`)
    return h
  }

  /** The command prefix that runs something on host i (`ip netns exec` execs, so pids stay the process's own). */
  wrapper (i: number): string[] {
    return ['ip', 'netns', 'exec', this.host(i).ns]
  }

  /** Runs a command on host i to completion. */
  async exec (i: number, argv: string[]): Promise<Exec> {
    return await run('ip', ['netns', 'exec', this.host(i).ns, ...argv])
  }

  /** Unplugs host i: no traffic to or from it (nor from the test process) until restore(i). */
  async cut (i: number): Promise<void> {
    await ip('link', 'set', this.host(i).veth, 'down')
  }

  async restore (i: number): Promise<void> {
    await ip('link', 'set', this.host(i).veth, 'up')
  }

  /**
   * Splits the hosts into groups that cannot reach each other (each host in exactly one group),
   * e.g. partition([[0, 1], [2, 3, 4]]). The test process still reaches every host, so HTTP
   * checks keep working during the partition. Existing connections across groups go silent
   * (packets are dropped), as in a real split; new ones fail at once. Replaces any previous
   * partition.
   */
  async partition (groups: number[][]): Promise<void> {
    const seen = new Map<number, number>()
    groups.forEach((g, gi) => {
      for (const i of g) {
        this.host(i)
        if (seen.has(i)) throw new NetnsError(`host ${i} is in more than one group`)
        seen.set(i, gi)
      }
    })
    const missing = this.hosts.filter(h => !seen.has(h.index)).map(h => h.index)
    if (missing.length > 0) throw new NetnsError(`hosts ${missing.join(', ')} are in no group (list every host once)`)
    await this.heal()
    const routes: Array<{ ns: string, ip: string }> = []
    for (const a of this.hosts) {
      for (const b of this.hosts) {
        if (seen.get(a.index) !== seen.get(b.index)) routes.push({ ns: a.ns, ip: b.ip })
      }
    }
    this.blackholes = routes
    await Promise.all(this.hosts.map(async (h) => {
      for (const r of routes.filter(x => x.ns === h.ns)) await ip('-n', r.ns, 'route', 'add', 'blackhole', `${r.ip}/32`)
    }))
  }

  /** Ends a partition: every host reaches every other again. */
  async heal (): Promise<void> {
    const routes = this.blackholes
    this.blackholes = []
    await Promise.all(this.hosts.map(async (h) => {
      for (const r of routes.filter(x => x.ns === h.ns)) await run('ip', ['-n', r.ns, 'route', 'del', 'blackhole', `${r.ip}/32`])
    }))
  }

  /**
   * Removes everything: kills processes still running in the namespaces (they would keep the
   * namespaces and veths alive), deletes namespaces, bridge and hosts files. Idempotent, and
   * never throws: teardown after a failure must not hide the failure.
   */
  async teardown (): Promise<void> {
    if (this.tornDown) return
    this.tornDown = true
    openLabs.delete(this)
    await Promise.all(this.hosts.map(async (h) => {
      await killNamespaceProcesses(h.ns)
      await run('ip', ['link', 'del', h.veth])
      await run('ip', ['netns', 'del', h.ns])
      rmSync(join(NETNS_ETC, h.ns), { recursive: true, force: true })
    }))
    await run('ip', ['link', 'del', this.bridge])
  }

  /** teardown() for process exit, where nothing asynchronous runs any more. */
  teardownSync (): void {
    if (this.tornDown) return
    this.tornDown = true
    openLabs.delete(this)
    for (const h of this.hosts) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', h.ns], { encoding: 'utf8', timeout: 10_000 })
        for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
          try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
        }
      } catch { /* namespace already gone */ }
      ipSync('link', 'del', h.veth)
      ipSync('netns', 'del', h.ns)
      rmSync(join(NETNS_ETC, h.ns), { recursive: true, force: true })
    }
    ipSync('link', 'del', this.bridge)
  }
}
