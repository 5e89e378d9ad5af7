import { resolveStartConfig } from '../config.js'
import { START_OPTIONS } from '../options/start-options.js'
import { optionsUsage, parseArgsOptions, rawFromArgs } from '../options/table.js'
import { createLogger } from '../logger.js'
import { parseCommandArgs } from './args.js'
import { startFailure } from './start-failure.js'

export const START_USAGE = `usage: fleet start [options]
${optionsUsage(START_OPTIONS, 'FLEET_CONFIG')}`

/** `fleet start`: runs a node until SIGINT/SIGTERM, then stops it cleanly (storage flushed). */
export async function startCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('start', argv, parseArgsOptions(START_OPTIONS))
  const cfg = startFailure.around(() => resolveStartConfig(rawFromArgs(START_OPTIONS, values), process.env, values.config as string | undefined),
    (values['log-level'] as string | undefined) ?? process.env.FLEET_LOG_LEVEL)

  const logger = createLogger({ level: cfg.logLevel })
  // Imported once the options are known to be good: a bad option fails without loading libp2p,
  // Automerge, LevelDB and Fastify first.
  const { FleetNode } = await import('../fleet-node.js')
  const node = await startFailure.aroundAsync(async () => await FleetNode.start({
    dataDir: cfg.data,
    listen: cfg.listen,
    bootstrap: cfg.bootstrap,
    ...(cfg.maxPeers === undefined ? {} : { maxPeers: cfg.maxPeers }),
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
