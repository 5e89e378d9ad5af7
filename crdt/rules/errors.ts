/** A rule was given an option it cannot work with (a non-positive duration, thresholds out of order...). */
export class InvalidRuleOptionError extends Error {
  static readonly code = 'ERR_INVALID_RULE_OPTION'
  readonly code = InvalidRuleOptionError.code
  readonly option: string

  constructor (option: string, value: unknown, expected: string) {
    super(`invalid rule option ${option}=${String(value)}: expected ${expected}`)
    this.name = 'InvalidRuleOptionError'
    this.option = option
  }
}

/** The claim rules compare claims of one task; being handed several tasks is a caller bug. */
export class MixedTaskClaimsError extends Error {
  static readonly code = 'ERR_MIXED_TASK_CLAIMS'
  readonly code = MixedTaskClaimsError.code

  constructor (first: string, other: string) {
    super(`claims of different tasks compared together: ${first} and ${other}`)
    this.name = 'MixedTaskClaimsError'
  }
}

/** Throws unless value is a finite number > 0. */
export function requirePositive (option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidRuleOptionError(option, value, 'a finite number > 0')
  return value
}

/** Throws unless value is an integer >= 1. */
export function requirePositiveInteger (option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidRuleOptionError(option, value, 'an integer >= 1')
  return value
}
