import { resolveStartConfig } from '../config.js'
import { FleetNode } from '../fleet-node.js'
import { createLogger } from '../logger.js'
import { parseCommandArgs } from './args.js'

export const START_USAGE = `usage: fleet start [options]
  --data DIR              data directory (default ./.fleet; env FLEET_DATA)
  --listen MULTIADDR      libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/4001)
  --bootstrap MULTIADDR   a peer to join through (with /p2p/<id>), repeatable (env FLEET_BOOTSTRAP)
  --bootstrap-file FILE   bootstrap peers, one per line
  --http HOST:PORT        local HTTP API (default 127.0.0.1:3000; port 0 picks a free port)
  --cluster NAME          cluster name; namespaces topics (default "default")
  --config FILE           JSON or YAML file with the same options (env FLEET_CONFIG)
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default info)
  --fsync                 fsync every write (survives power loss, slower)`

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
    fsync: { type: 'boolean' }
  })
  const cfg = resolveStartConfig({
    data: values.data,
    listen: values.listen,
    bootstrap: values.bootstrap,
    bootstrapFile: values['bootstrap-file'],
    http: values.http,
    cluster: values.cluster,
    logLevel: values['log-level'],
    fsync: values.fsync
  }, process.env, values.config as string | undefined)

  const logger = createLogger({ level: cfg.logLevel })
  const node = await FleetNode.start({
    dataDir: cfg.data,
    listen: cfg.listen,
    bootstrap: cfg.bootstrap,
    http: cfg.http,
    cluster: cfg.cluster,
    logger,
    fsync: cfg.fsync
  })
  const lines = [
    `fleet node started (cluster ${cfg.cluster})`,
    `peer id: ${node.peerId}`,
    ...node.multiaddrs().map(a => `listen: ${a}`),
    `http: ${node.httpUrl}`
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
