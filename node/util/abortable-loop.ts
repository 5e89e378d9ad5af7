/**
 * A background loop that runs until stopped: start() runs `body` with a fresh AbortSignal (a
 * second start() while running does nothing); stop() aborts it and waits for the body to return.
 * The body catches its own per-iteration errors; one that escapes is a bug and goes to `onCrash`,
 * so the promise is never left unhandled.
 */
export class AbortableLoop {
  private controller: AbortController | null = null
  private loop: Promise<void> | null = null

  constructor (private readonly body: (signal: AbortSignal) => Promise<void>, private readonly onCrash: (err: unknown) => void) {}

  get running (): boolean {
    return this.loop !== null
  }

  start (): void {
    if (this.loop !== null) return
    const controller = new AbortController()
    this.controller = controller
    this.loop = this.body(controller.signal).catch(this.onCrash)
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    await this.loop
    this.loop = null
    this.controller = null
  }
}
