/** A clock tests move by hand (frozen time instead of sleeping). */
export class TestClock {
  #ms: number
  constructor (ms = Date.UTC(2026, 10, 23, 12, 0, 0), private readonly real = false) { this.#ms = ms }
  get ms (): number { return this.real ? Date.now() : this.#ms }
  readonly now = (): number => this.ms
  advance (seconds: number): void {
    if (this.real) throw new Error('the real clock cannot be advanced')
    this.#ms += seconds * 1000
  }
}

/** The real clock, for tests against a listening server where a library drives time. */
export function systemClockTest (): TestClock {
  return new TestClock(0, true)
}
