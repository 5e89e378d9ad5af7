import { MAX_EVIDENCE_BYTES } from '../services/evidence.js'

/**
 * Keeps an evidence text under the node's limit by keeping its end (the interesting part of a
 * log), so a long executor output never gets the whole evidence refused.
 */
export function clipEvidence (s: string): string {
  if (Buffer.byteLength(s, 'utf8') <= MAX_EVIDENCE_BYTES) return s
  return '[...]\n' + Buffer.from(s, 'utf8').subarray(-(MAX_EVIDENCE_BYTES - 64)).toString('utf8')
}
