/** A clock tests move by hand (frozen time instead of sleeping). */
export class TestClock {
  constructor (public ms = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  readonly now = (): number => this.ms
  advance (seconds: number): void { this.ms += seconds * 1000 }
}
