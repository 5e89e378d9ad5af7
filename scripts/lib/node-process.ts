import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GiveUpError, waitFor } from './wait.js'

const here = fileURLToPath(new URL('.', import.meta.url))
/**
 * The bundled CLI (scripts/bundle.ts), as `fleet` runs it, so the tests start what users start;
 * run as `node <entry>` directly so a kill reaches the node itself.
 */
export const CLI_ENTRY = resolve(here, '../../bundle/main.js')

export interface StartedNode {
  proc: ChildProcess
  dataDir: string
  peerId: string
  addr: string
  url: string
  stdout: string[]
  stderr: string[]
}

export interface NodeOptions {
  dataDir?: string
  bootstrap?: string[]
  /** Reuse a fixed libp2p port (for restarts that peers redial). */
  port?: number
  extraArgs?: string[]
  env?: NodeJS.ProcessEnv
  /** Arguments for node itself (e.g. --cpu-prof), before the entry. */
  nodeArgs?: string[]
  /** IPv4 address for libp2p and HTTP (default 127.0.0.1; a network namespace's own IP). */
  host?: string
  /** Fixed HTTP port (default 0: a free one). */
  httpPort?: number
  /** Command the node runs under, e.g. ['ip', 'netns', 'exec', NS] (it must exec, not fork). */
  wrapper?: string[]
  /** How long the node may take to print its addresses (default FLEET_TEST_START_TIMEOUT_MS or 30 s; a loaded machine needs more). */
  startTimeoutMs?: number
  /** Another build's CLI entry (default CLI_ENTRY), e.g. a baseline for a before/after benchmark. */
  entry?: string
}

/** How long startNode waits for a node to come up; FLEET_TEST_START_TIMEOUT_MS raises it on a busy machine. */
export const DEFAULT_START_TIMEOUT_MS = Number(process.env.FLEET_TEST_START_TIMEOUT_MS ?? 30_000)

export function tempDir (prefix = 'fleet-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Runs the CLI to completion (for commands that exit). */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(process.execPath, [CLI_ENTRY, ...args], { env: { ...process.env, FLEET_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve))
  return { code, stdout, stderr }
}

/** Starts `fleet start` on 127.0.0.1 with free ports and waits until it printed its addresses. */
export async function startNode (opts: NodeOptions = {}): Promise<StartedNode> {
  const dataDir = opts.dataDir ?? tempDir()
  const args = [
    ...(opts.nodeArgs ?? []),
    opts.entry ?? CLI_ENTRY, 'start',
    '--data', dataDir,
    '--http', `${opts.host ?? '127.0.0.1'}:${opts.httpPort ?? 0}`,
    '--listen', `/ip4/${opts.host ?? '127.0.0.1'}/tcp/${opts.port ?? 0}`,
    ...(opts.bootstrap ?? []).flatMap(b => ['--bootstrap', b]),
    ...(opts.extraArgs ?? [])
  ]
  const [command, ...prefix] = [...(opts.wrapper ?? []), process.execPath]
  const proc = spawn(command ?? process.execPath, [...prefix, ...args], {
    env: { ...process.env, FLEET_LOG_LEVEL: process.env.FLEET_TEST_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const stdout: string[] = []
  const stderr: string[] = []
  proc.stdout.on('data', (d: Buffer) => { stdout.push(...d.toString().split('\n').filter(Boolean)) })
  proc.stderr.on('data', (d: Buffer) => { stderr.push(...d.toString().split('\n').filter(Boolean)) })
  let exited: number | null = null
  proc.on('exit', (code) => { exited = code ?? -1 })
  live.add(proc)
  proc.on('exit', () => live.delete(proc))
  const url = await waitFor(() => {
    if (exited !== null) throw new GiveUpError(`node exited with ${exited}: ${stderr.slice(-5).join(' | ')}`)
    return stdout.find(l => l.startsWith('http: '))?.slice(6)
  }, 'the node to print its HTTP URL', opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
  const peerId = stdout.find(l => l.startsWith('peer id: '))?.slice(9) ?? ''
  const addr = stdout.find(l => l.startsWith('listen: '))?.slice(8) ?? ''
  return { proc, dataDir, peerId, addr, url, stdout, stderr }
}

const live = new Set<ChildProcess>()

/** SIGKILL, no chance to flush: what a crash looks like. */
export async function killNode (n: StartedNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (n.proc.exitCode !== null || n.proc.signalCode !== null) return
  const done = new Promise((resolve) => n.proc.once('exit', resolve))
  n.proc.kill(signal)
  await done
}

/** Graceful stop (SIGTERM) and wait for exit. */
export async function stopNode (n: StartedNode): Promise<number | null> {
  if (n.proc.exitCode !== null || n.proc.signalCode !== null) return n.proc.exitCode
  const done = new Promise<number | null>((resolve) => n.proc.once('exit', resolve))
  n.proc.kill('SIGTERM')
  return await done
}

/** Kills every node a test started, whatever happened: no stray processes hold ports. */
export async function killAll (): Promise<void> {
  await Promise.all([...live].map(async (p) => {
    if (p.exitCode !== null || p.signalCode !== null) return
    const done = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGKILL')
    await done
  }))
}

export function removeDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** A closed cluster's shared secrets, made with the CLI as an operator would. */
export interface ClusterSecrets {
  dir: string
  swarmKeyFile: string
  tokenFile: string
  token: string
  /** `fleet start` arguments that use them. */
  args: string[]
}

/** Runs `fleet key swarm` and `fleet key token` into a new temp dir (mode 600 files). */
export async function createClusterSecrets (prefix = 'fleet-secrets-'): Promise<ClusterSecrets> {
  const dir = tempDir(prefix)
  const key = await runCli(['key', 'swarm'])
  const tok = await runCli(['key', 'token'])
  if (key.code !== 0 || tok.code !== 0) throw new Error(`fleet key failed: ${key.stderr}${tok.stderr}`)
  const swarmKeyFile = join(dir, 'swarm.key')
  const tokenFile = join(dir, 'api.token')
  writeFileSync(swarmKeyFile, key.stdout, { mode: 0o600 })
  writeFileSync(tokenFile, tok.stdout, { mode: 0o600 })
  return { dir, swarmKeyFile, tokenFile, token: tok.stdout.trim(), args: ['--swarm-key', swarmKeyFile, '--api-token-file', tokenFile] }
}

/**
 * Starts `count` nodes on loopback, the rest bootstrapped from the first, and waits until every
 * node has an open session with every other one.
 */
export async function startCluster (count: number, opts: Omit<NodeOptions, 'bootstrap' | 'dataDir'> = {}, timeoutMs = 30_000): Promise<StartedNode[]> {
  const first = await startNode(opts)
  const rest = await Promise.all(Array.from({ length: count - 1 }, async () => await startNode({ ...opts, bootstrap: [first.addr] })))
  const nodes = [first, ...rest]
  await waitFor(async () => {
    const peers = await Promise.all(nodes.map(async n => (await (await fetch(n.url + '/health')).json() as { peers: number }).peers))
    return peers.every(p => p === count - 1)
  }, `all ${count} nodes to connect to each other`, timeoutMs)
  return nodes
}
