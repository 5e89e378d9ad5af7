import { createServer, type Server } from 'node:net'

/** A TCP port held open by the test itself (on 127.0.0.1), until `release`. */
export async function holdPort (): Promise<{ port: number, release: () => Promise<void> }> {
  const srv: Server = createServer()
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', resolve) })
  const addr = srv.address()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return { port: addr.port, release: async () => { await new Promise<void>((resolve) => srv.close(() => resolve())) } }
}
