import { resolveStartConfig } from '../config.js'
import { FleetNode } from '../fleet-node.js'
import { createLogger } from '../logger.js'
import { parseCommandArgs } from './args.js'
import { startFailure } from './start-failure.js'

export const START_USAGE = `usage: fleet start [options]
  --data DIR              data directory (default ./.fleet; env FLEET_DATA)
  --listen MULTIADDR      libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/4001)
  --bootstrap MULTIADDR   a peer to join through (with /p2p/<id>), repeatable (env FLEET_BOOTSTRAP)
  --bootstrap-file FILE   bootstrap peers, one per line
  --http HOST:PORT        local HTTP API (default 127.0.0.1:3000; port 0 picks a free port)
  --cluster NAME          cluster name; namespaces topics (default "default")
  --config FILE           JSON or YAML file with the same options (env FLEET_CONFIG)
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default info)
  --fsync                 fsync every write (survives power loss, slower)
  --swarm-key FILE        private network: only nodes with this key can connect
                          (create with: fleet key swarm > swarm.key; env FLEET_SWARM_KEY)
  --allow-peer PEER_ID    only these peers may connect, repeatable (env FLEET_ALLOW_PEER)
  --allow-peers-file FILE allowed peer ids, one per line
  --api-token-file FILE   HTTP writes need "Authorization: Bearer <token>"; required when
                          --http is not loopback (create with: fleet key token > api.token)
  --auth-reads            require the token for reads too (GET /health stays open;
                          the dashboard asks for the token and keeps a session cookie)
  --tls-cert FILE         serve the API and dashboard over HTTPS with this PEM certificate
  --tls-key FILE          ... and this PEM key (env FLEET_TLS_CERT, FLEET_TLS_KEY)
  --lease SECONDS         an assignment's lease, renewed by its agent's heartbeat (default 90)
  --max-attempts N        failed or expired attempts before a task fails (default 3)
  --retry-backoff SECONDS first backoff after a failed attempt, doubling (default 5)
  --term SECONDS          the merge leader rotates every term (default 60)
  --liveness SECONDS      a node not heard from this long is no longer live (default 10)
  --repo PATH             the node's git clone: agents work in worktrees of it, the leader merges with it
  --remote NAME           the shared remote of the clone (default origin)
  --main BRANCH           the branch work merges into (default main)
  --agent NAME:ROLE       run an agent in this node, repeatable (env FLEET_AGENTS, comma separated)
  --executor CMD|demo     what an agent runs for a task (default demo; see README)
  --executor-timeout SECONDS  (default 1800)
  --check CMD             run on each merge result before main is pushed (optional)
  --check-timeout SECONDS (default 600)
  --alert-webhook URL     POST alerts here (Alertmanager webhook format; a URL ending in
                          /api/v2/alerts gets Alertmanager's API format), repeatable
                          (env FLEET_ALERT_WEBHOOK, comma separated)
  --agent-dead SECONDS    an agent silent this long is dead: FleetAgentDead, health "dead" (default 120)
  --queue-stuck SECONDS   entries waiting and no merge this long: FleetMergeQueueStuck (default 600)
  --keep-branches         keep fleet/<task> on the remote after its merge (default: the
                          leader deletes it; ejected branches are always kept)`

/** `fleet start`: runs a node until SIGINT/SIGTERM, then stops it cleanly (storage flushed). */
export async function startCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('start', argv, {
    data: { type: 'string' },
    listen: { type: 'string', multiple: true },
    bootstrap: { type: 'string', multiple: true },
    'bootstrap-file': { type: 'string' },
    http: { type: 'string' },
    cluster: { type: 'string' },
    config: { type: 'string' },
    'log-level': { type: 'string' },
    fsync: { type: 'boolean' },
    'swarm-key': { type: 'string' },
    'allow-peer': { type: 'string', multiple: true },
    'allow-peers-file': { type: 'string' },
    'api-token-file': { type: 'string' },
    'auth-reads': { type: 'boolean' },
    lease: { type: 'string' },
    'max-attempts': { type: 'string' },
    'retry-backoff': { type: 'string' },
    term: { type: 'string' },
    liveness: { type: 'string' },
    agent: { type: 'string', multiple: true },
    repo: { type: 'string' },
    remote: { type: 'string' },
    main: { type: 'string' },
    executor: { type: 'string' },
    'executor-timeout': { type: 'string' },
    check: { type: 'string' },
    'check-timeout': { type: 'string' },
    'alert-webhook': { type: 'string', multiple: true },
    'agent-dead': { type: 'string' },
    'queue-stuck': { type: 'string' },
    'keep-branches': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' }
  })
  const cfg = startFailure.around(() => resolveStartConfig({
    data: values.data,
    listen: values.listen,
    bootstrap: values.bootstrap,
    bootstrapFile: values['bootstrap-file'],
    http: values.http,
    cluster: values.cluster,
    logLevel: values['log-level'],
    fsync: values.fsync,
    swarmKey: values['swarm-key'],
    allowPeer: values['allow-peer'],
    allowPeersFile: values['allow-peers-file'],
    apiTokenFile: values['api-token-file'],
    authReads: values['auth-reads'],
    lease: values.lease,
    maxAttempts: values['max-attempts'],
    retryBackoff: values['retry-backoff'],
    term: values.term,
    liveness: values.liveness,
    agent: values.agent,
    repo: values.repo,
    remote: values.remote,
    main: values.main,
    executor: values.executor,
    executorTimeout: values['executor-timeout'],
    check: values.check,
    checkTimeout: values['check-timeout'],
    alertWebhook: values['alert-webhook'],
    agentDead: values['agent-dead'],
    queueStuck: values['queue-stuck'],
    keepBranches: values['keep-branches'],
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key']
  }, process.env, values.config as string | undefined), (values['log-level'] as string | undefined) ?? process.env.FLEET_LOG_LEVEL)

  const logger = createLogger({ level: cfg.logLevel })
  const node = await startFailure.aroundAsync(async () => await FleetNode.start({
    dataDir: cfg.data,
    listen: cfg.listen,
    bootstrap: cfg.bootstrap,
    http: cfg.http,
    cluster: cfg.cluster,
    logger,
    fsync: cfg.fsync,
    coordination: cfg.coordination,
    alerts: cfg.alerts,
    ...(cfg.work === null ? {} : { work: cfg.work }),
    ...(cfg.tls === null ? {} : { tls: cfg.tls }),
    ...(cfg.swarmKey === null ? {} : { swarmKey: cfg.swarmKey.bytes }),
    ...(cfg.allowPeers === null ? {} : { allowPeers: cfg.allowPeers }),
    ...(cfg.apiToken === null ? {} : { apiToken: cfg.apiToken, authReads: cfg.authReads })
  }), cfg.logLevel)
  const lines = [
    `fleet node started (cluster ${cfg.cluster})`,
    `peer id: ${node.peerId}`,
    ...node.multiaddrs().map(a => `listen: ${a}`),
    `http: ${node.httpUrl}`,
    `document: ${node.store.loadStats.bytes} bytes loaded from disk in ${node.store.loadStats.ms.toFixed(0)} ms`,
    cfg.swarmKey === null ? 'network: open (no --swarm-key: any libp2p peer may connect)' : `network: private (swarm key fingerprint ${cfg.swarmKey.fingerprint})`,
    ...(cfg.allowPeers === null ? [] : [`allowed peers: ${cfg.allowPeers.length}`]),
    `alerts: ${cfg.alerts.receivers.length === 0 ? 'no webhook (GET /api/alerts only)' : cfg.alerts.receivers.map(r => r.display).join(', ')}`,
    `http auth: ${cfg.apiToken === null ? 'none (loopback only)' : cfg.authReads ? 'token for every request but /health' : 'token for writes'}`
  ]
  process.stdout.write(lines.join('\n') + '\n')

  return await new Promise<number>((resolve) => {
    let stopping = false
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ sig }, 'second signal: exiting without waiting')
        resolve(1)
        return
      }
      stopping = true
      logger.info({ sig }, 'signal received; stopping')
      node.stop().then(() => { resolve(0) }, (err: unknown) => {
        logger.error({ err }, 'stop failed')
        resolve(1)
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
