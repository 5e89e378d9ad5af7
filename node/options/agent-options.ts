import { z } from 'zod'
import { AGENT_WORK_OPTIONS, API_TOKEN_FILE_OPTION } from './shared.js'
import { LOG_LEVEL_OPTION, type OptionSpec } from './table.js'

/** Worktrees and the process lock of a `fleet agent` live here unless --data says otherwise. */
export const DEFAULT_AGENT_DATA_DIR = './.fleet-agent'

/** Every option of `fleet agent`, in --help order (agent, repo... are shared with `fleet start`). */
export const AGENT_OPTIONS = {
  node: { schema: z.string().min(1, 'must be a node URL'), env: 'FLEET_NODE', kind: 'list', arg: 'URL', help: 'a node\'s HTTP API, in order of preference (also ORCHESTRATOR_URL)' },
  ...AGENT_WORK_OPTIONS,
  agent: { ...AGENT_WORK_OPTIONS.agent, help: 'an agent to run (also AGENT_NAME and AGENT_ROLE)' },
  repo: { ...AGENT_WORK_OPTIONS.repo, help: 'the git clone to work in (worktrees of it; also REPO_PATH)' },
  apiTokenFile: { ...API_TOKEN_FILE_OPTION, help: 'the cluster token, or an agent token from "fleet key agent-token NAME" (or the token itself in FLEET_API_TOKEN)' },
  ca: { schema: z.string().min(1, 'must name a PEM file'), env: 'FLEET_CA', arg: 'FILE', help: 'trust this PEM CA for https:// nodes, besides the system CAs' },
  data: { schema: z.string().min(1, 'must not be empty'), env: 'FLEET_AGENT_DATA', arg: 'DIR', help: 'worktrees and this process\'s id', default: DEFAULT_AGENT_DATA_DIR },
  logLevel: LOG_LEVEL_OPTION
} as const satisfies Record<string, OptionSpec>

export type AgentField = keyof typeof AGENT_OPTIONS
