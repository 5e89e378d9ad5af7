import { z } from 'zod'
import { DEFAULT_EXECUTOR_TIMEOUT_MS } from '../agents/executor.js'
import { DEFAULT_MAIN_BRANCH, DEFAULT_REMOTE } from '../git/defaults.js'
import { secondsOption, type OptionSpec } from './table.js'

/**
 * Options that `fleet start` (agents inside a node) and `fleet agent` (agents outside any node)
 * share: same flag, env variable, config key, validation and default.
 */
export const AGENT_WORK_OPTIONS = {
  agent: { schema: z.string().min(1, 'must be NAME:ROLE'), env: 'FLEET_AGENTS', kind: 'list', arg: 'NAME:ROLE', help: 'an agent to run' },
  repo: { schema: z.string().min(1, 'must name a git clone'), env: 'FLEET_REPO', arg: 'PATH', help: 'the git clone agents work in (worktrees of it)' },
  remote: { schema: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a git remote name like origin'), env: 'FLEET_REMOTE', arg: 'NAME', help: 'the shared remote of the clone', shownDefault: DEFAULT_REMOTE },
  main: { schema: z.string().regex(/^[A-Za-z0-9._/-]+$/, 'a branch name like main'), env: 'FLEET_MAIN', arg: 'BRANCH', help: 'the branch work merges into', shownDefault: DEFAULT_MAIN_BRANCH },
  executor: { schema: z.string().min(1, 'must be a shell command or "demo"'), env: 'FLEET_EXECUTOR', arg: 'CMD|demo', help: 'what an agent runs for a task (see README)', default: 'demo' },
  executorTimeout: { schema: secondsOption, env: 'FLEET_EXECUTOR_TIMEOUT', arg: 'SECONDS', help: 'an executor run is killed after this long', shownDefault: String(DEFAULT_EXECUTOR_TIMEOUT_MS / 1000) }
} as const satisfies Record<string, OptionSpec>

/** --api-token-file: the node's token (start) or the token the agent presents (agent); help differs. */
export const API_TOKEN_FILE_OPTION = { schema: z.string().min(1, 'must name a token file'), env: 'FLEET_API_TOKEN_FILE', arg: 'FILE' } as const
