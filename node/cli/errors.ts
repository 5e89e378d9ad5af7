/** A command-line failure: printed as one line `fleet: <message>`, exit code as given. */
export class CliError extends Error {
  override name = 'CliError'
  constructor (message: string, readonly exitCode = 2) {
    super(message)
  }
}

export const EXIT_USAGE = 2
export const EXIT_FAILURE = 1
