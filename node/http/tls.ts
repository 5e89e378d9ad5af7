import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'

/** The node's HTTPS certificate (chain) and private key, PEM. */
export interface TlsFiles {
  cert: string
  key: string
}

export class TlsFilesError extends Error {
  override name = 'TlsFilesError'
  constructor (readonly which: 'cert' | 'key', message: string) {
    super(message)
  }
}

/**
 * Reads `--tls-cert` and `--tls-key` and checks them as a pair (OpenSSL refuses a key that does
 * not match the certificate), so a mistake stops the node at start, not at the first client.
 */
export function readTlsFiles (certFile: string, keyFile: string): TlsFiles {
  const read = (which: 'cert' | 'key', file: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new TlsFilesError(which, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
  }
  const cert = read('cert', certFile)
  const key = read('key', keyFile)
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new TlsFilesError('cert', `${certFile} holds no PEM certificate`)
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new TlsFilesError('key', `${keyFile} holds no PEM private key`)
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new TlsFilesError('key', `${keyFile} does not fit ${certFile}: ${(err as Error).message}`)
  }
  return { cert, key }
}
