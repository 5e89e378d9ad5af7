import { existsSync, readFileSync } from 'node:fs'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { rootCertificates } from 'node:tls'

/**
 * HTTP(S) requests for the CLI and `fleet agent`, on node:http so HTTPS can be verified against
 * extra CAs (`--ca FILE`): Node's fetch takes no CA option without the undici package.
 */

/** Where distributions keep the system's CA bundle (SSL_CERT_FILE first, as OpenSSL does). */
export const SYSTEM_CA_FILES: readonly string[] = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']
/** Largest response body read (a big plan's task list is a few MB). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024

export class CaFileError extends Error {
  override name = 'CaFileError'
  constructor (readonly path: string, reason: string) {
    super(`cannot use CA file ${path}: ${reason}`)
  }
}

/** Reads a PEM CA file (one or more certificates); CaFileError says what is wrong. */
export function readCaFile (path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CaFileError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message)
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CaFileError(path, 'no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)')
  return text
}

let systemCas: string[] | null = null

/** Node's bundled roots plus the system bundle (read once), so a corporate CA installed in the OS works. */
export function systemCertificates (): string[] {
  if (systemCas !== null) return systemCas
  const files = [process.env.SSL_CERT_FILE, ...SYSTEM_CA_FILES].filter((f): f is string => f !== undefined && f !== '')
  const found = files.find(f => existsSync(f))
  let extra: string[] = []
  if (found !== undefined) {
    try {
      extra = [readFileSync(found, 'utf8')]
    } catch {
      // An unreadable system bundle leaves Node's own roots.
    }
  }
  systemCas = [...rootCertificates, ...extra]
  return systemCas
}

export interface TransportInit {
  /** PEM of extra CAs to trust besides the system ones (`--ca FILE`). */
  ca?: string
  /** Reuse connections (long-running clients such as `fleet agent`); default false. */
  keepAlive?: boolean
}

export interface RawResponse {
  status: number
  text: string
}

/**
 * Why a request got no answer. `maybeProcessed` is false when the request cannot have reached
 * the node (refused, unknown host, TLS handshake failed): retrying it elsewhere is always safe.
 */
export class TransportError extends Error {
  override name = 'TransportError'
  constructor (readonly reason: string, readonly maybeProcessed: boolean) {
    super(reason)
  }
}

const NOT_SENT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate not trusted (pass --ca FILE)',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in the chain not trusted (pass --ca FILE)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate issuer unknown (pass --ca FILE)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: certificate issuer unknown (pass --ca FILE)',
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not name this host',
  EPROTO: 'TLS handshake failed (is the node serving plain HTTP?)'
}

function classify (err: unknown): TransportError {
  const e = err as NodeJS.ErrnoException & { name?: string }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new TransportError('timed out', true)
  const code = e.code ?? ''
  const notSent = NOT_SENT[code]
  if (notSent !== undefined) return new TransportError(notSent, false)
  if (code === 'ECONNRESET' || code === 'EPIPE') return new TransportError('connection reset', true)
  return new TransportError(e.message ?? String(err), true)
}

/** One client's connection pools (plain and TLS). */
export class Transport {
  private readonly http: HttpAgent
  private readonly https: HttpsAgent

  constructor (init: TransportInit = {}) {
    const keepAlive = init.keepAlive ?? false
    this.http = new HttpAgent({ keepAlive })
    this.https = new HttpsAgent({ keepAlive, ca: init.ca === undefined ? systemCertificates() : [...systemCertificates(), init.ca] })
  }

  /** Sends one request; resolves with any status, rejects with TransportError when there was no answer. */
  async send (url: string, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<RawResponse> {
    const u = new URL(url)
    const tls = u.protocol === 'https:'
    const signal = AbortSignal.timeout(timeoutMs)
    return await new Promise<RawResponse>((resolve, reject) => {
      const fail = (err: unknown): void => { reject(classify(err)) }
      const options = {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        signal
      }
      const onResponse = (res: IncomingMessage): void => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.byteLength
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`))
            return
          }
          chunks.push(c)
        })
        res.on('error', fail)
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }) })
      }
      const req = tls ? httpsRequest(u, { ...options, agent: this.https }, onResponse) : httpRequest(u, { ...options, agent: this.http }, onResponse)
      req.on('error', fail)
      req.end(body)
    })
  }

  /** Closes pooled connections (a long-running client that stops). */
  close (): void {
    this.http.destroy()
    this.https.destroy()
  }
}
