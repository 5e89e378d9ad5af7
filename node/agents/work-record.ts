import { safeDirName } from '../git/branches.js'
import type { GitIdentity } from '../git/git.js'
import type { AgentWorktree } from '../git/worktrees.js'
import { describeEnd } from './command.js'
import type { AgentInfo, EvidenceItem, WorkTask } from './coordinator.js'
import type { ExecutionResult } from './executor.js'

/** How much of the executor's output goes into the log evidence. */
export const EVIDENCE_OUTPUT_CHARS = 4000

/** The commit message names the task, so `git log main` reads as a task list. */
export function commitMessage (task: WorkTask, agent: AgentInfo): string {
  return `${task.id}: ${task.title}\n\nfleet task ${task.id}, attempt ${task.attempt}, by agent ${agent.id}.`
}

/** Agents author their commits: `A <A@fleet.invalid>` (.invalid: never a real mailbox). */
export function agentIdentity (agent: AgentInfo): GitIdentity {
  return { name: agent.name.replace(/[<>\n]/g, '') || agent.id, email: `${safeDirName(agent.id)}@fleet.invalid` }
}

export function evidenceFor (head: string, branch: string, wt: AgentWorktree, diffStat: string, r: ExecutionResult): EvidenceItem[] {
  const output = r.outputTail.trim().slice(-EVIDENCE_OUTPUT_CHARS)
  return [
    { kind: 'commit', content: head },
    { kind: 'diff-stat', content: diffStat === '' ? '(no file changes)' : diffStat },
    { kind: 'log', content: `executor ${describeEnd(r)} (exit code ${String(r.exitCode)}) on ${branch} from ${wt.base}\n${output}` }
  ]
}

export function lastLine (s: string): string {
  const lines = s.trim().split('\n')
  return (lines[lines.length - 1] ?? '').trim()
}
