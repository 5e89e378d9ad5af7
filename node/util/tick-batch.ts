/**
 * Work that arrives together is done once: schedule() any number of times in one turn of the event
 * loop and `run` is called once, on the next (setImmediate, so I/O already queued goes first).
 */
export class OncePerTick {
  private scheduled = false

  constructor (private readonly run: () => void) {}

  schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.run()
    })
  }
}

/** Items pushed in one turn of the event loop are handed to `flush` together on the next. */
export class TickBatch<T> {
  private items: T[] = []
  private readonly tick = new OncePerTick(() => {
    const batch = this.items
    this.items = []
    this.flush(batch)
  })

  constructor (private readonly flush: (batch: T[]) => void) {}

  push (...items: T[]): void {
    this.items.push(...items)
    this.tick.schedule()
  }
}
