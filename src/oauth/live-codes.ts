import type { Clock } from './clock.js'
import type { DeviceAuthorizationStore } from './stores.js'

/**
 * The number of live codes, for the MAX_LIVE_CODES bound behind the brute-force
 * arithmetic (RFC 8628 §5.1). Counting on every request would put a COUNT on the hot
 * path, so the figure is refreshed at most once per `maxAgeMs` and counted up locally
 * in between; several instances may overshoot by what they admit in that time.
 */
export class LiveCodeGauge {
  /** Gauges of single clients' live codes (the per-client cap), made on first use. */
  readonly #clients = new Map<string, LiveCodeGauge>()

  #value = 0
  #at = -Infinity
  #pending: Promise<number> | undefined

  constructor (
    private readonly devices: DeviceAuthorizationStore,
    private readonly clock: Clock,
    private readonly maxAgeMs = 1000,
    private readonly clientId?: string
  ) {}

  /** The gauge of one client's live codes. Clients are registered, so the map stays as small as the client list. */
  forClient (clientId: string): LiveCodeGauge {
    let gauge = this.#clients.get(clientId)
    if (gauge === undefined) {
      gauge = new LiveCodeGauge(this.devices, this.clock, this.maxAgeMs, clientId)
      this.#clients.set(clientId, gauge)
    }
    return gauge
  }

  async current (): Promise<number> {
    if (this.clock() - this.#at < this.maxAgeMs) return this.#value
    this.#pending ??= this.devices.countLive(new Date(this.clock()), this.clientId).then(n => {
      this.#value = n
      this.#at = this.clock()
      return n
    }).finally(() => { this.#pending = undefined })
    return await this.#pending
  }

  added (): void { this.#value++ }
}
