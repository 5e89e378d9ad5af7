import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CliError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs in strict mode; its errors become one-line usage errors (exit 2). */
export function parseCommandArgs<O extends Options> (command: string, argv: string[], options: O, allowPositionals = false): { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals })
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals }
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0] ?? 'bad arguments'
    throw new CliError(`${command}: ${msg}`)
  }
}
