import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateSwarmKey, readSwarmKeyFile, SwarmKeyError } from '../../bootstrap/swarm-key.js'
import { loadOrCreateIdentity } from '../../bootstrap/identity.js'
import { DEFAULT_DATA_DIR } from '../config.js'
import { ApiTokenError, generateApiToken, readApiTokenFile } from '../http/auth.js'
import { issueAgentToken } from '../http/agent-tokens.js'
import { IdSchema } from '../../plan/schema.js'
import { parseCommandArgs } from './args.js'
import { CliError } from './errors.js'

export const KEY_USAGE = `usage: fleet key <what>
  swarm                   print a new private-network key: fleet key swarm > swarm.key
                          (every node of the cluster starts with --swarm-key swarm.key)
  token                   print a new HTTP API token: fleet key token > api.token
                          (for --api-token-file; clients send "Authorization: Bearer <token>")
  agent-token NAME [--api-token-file FILE]
                          print a token that can only act for agent NAME, signed with the
                          cluster's API token (env FLEET_API_TOKEN_FILE): fleet key agent-token A > A.token
                          (revoke with POST /api/agents/NAME/revoke-tokens and the cluster token)
  peer-id [--data DIR]    print the peer id of the node using DIR (created if missing),
                          for --allow-peer lists (default DIR ./.fleet; env FLEET_DATA)
  fingerprint FILE        print a swarm key's fingerprint, to compare keys between machines`

/** `fleet key ...`: creates the secrets and ids a closed cluster is configured with. */
export async function keyCommand (argv: string[]): Promise<number> {
  const [what, ...rest] = argv
  switch (what) {
    case 'swarm':
      parseCommandArgs('key swarm', rest, {})
      process.stdout.write(generateSwarmKey())
      return 0
    case 'token':
      parseCommandArgs('key token', rest, {})
      process.stdout.write(generateApiToken() + '\n')
      return 0
    case 'agent-token': {
      const { values, positionals } = parseCommandArgs('key agent-token', rest, { 'api-token-file': { type: 'string' } }, true)
      if (positionals.length !== 1) throw new CliError('key agent-token: expected one agent NAME')
      const name = positionals[0] as string
      if (!IdSchema.safeParse(name).success) throw new CliError(`key agent-token: "${name}" is not an agent name (letters, digits, ".", "_", "-")`)
      const file = (values['api-token-file'] as string | undefined) ?? process.env.FLEET_API_TOKEN_FILE
      if (file === undefined || file === '') throw new CliError('key agent-token: the cluster token signs it: pass --api-token-file FILE (env FLEET_API_TOKEN_FILE)')
      let secret: string
      try {
        secret = readApiTokenFile(file)
      } catch (err) {
        if (err instanceof ApiTokenError) throw new CliError(`key agent-token: ${err.message}`)
        throw err
      }
      process.stdout.write(issueAgentToken(secret, name).token + '\n')
      return 0
    }
    case 'peer-id': {
      const { values } = parseCommandArgs('key peer-id', rest, { data: { type: 'string' } })
      const dir = (values.data as string | undefined) ?? process.env.FLEET_DATA ?? DEFAULT_DATA_DIR
      const key = await loadOrCreateIdentity(dir)
      process.stdout.write(peerIdFromPrivateKey(key).toString() + '\n')
      return 0
    }
    case 'fingerprint': {
      const { positionals } = parseCommandArgs('key fingerprint', rest, {}, true)
      if (positionals.length !== 1) throw new CliError('key fingerprint: expected one FILE')
      try {
        process.stdout.write(readSwarmKeyFile(positionals[0] as string).fingerprint + '\n')
      } catch (err) {
        if (err instanceof SwarmKeyError) throw new CliError(`key fingerprint: ${err.message}`)
        throw err
      }
      return 0
    }
    default:
      throw new CliError(what === undefined ? 'key: say what to print: swarm, token, agent-token, peer-id or fingerprint (see fleet key --help)' : `key: unknown "${what}" (try: swarm, token, agent-token, peer-id, fingerprint)`)
  }
}
