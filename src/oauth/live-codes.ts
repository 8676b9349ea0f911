import type { Clock } from './clock.js'
import type { DeviceAuthorizationStore } from './stores.js'

/** A place held under a cap while its code is being inserted. */
export interface LiveCodeReservation {
  /** The code was stored: it now counts as live. */
  commit (): void
  /** Nothing was stored: the place is free again. */
  cancel (): void
}

/**
 * The number of live codes, for the MAX_LIVE_CODES bound behind the brute-force
 * arithmetic (RFC 8628 §5.1) and the per-client share. Counting on every request would put
 * a COUNT on the hot path, so the figure is refreshed at most once per `maxAgeMs` and
 * counted up locally in between. Codes being inserted hold a reservation taken in the same
 * synchronous step as the check, so a burst of parallel requests on one instance cannot
 * all pass one stale figure; several instances may overshoot by what they admit within
 * `maxAgeMs` of each other.
 */
export class LiveCodeGauge {
  /** Gauges of single clients' live codes (the per-client cap), made on first use. */
  readonly #clients = new Map<string, LiveCodeGauge>()

  #value = 0
  #inFlight = 0
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

  /** A place under `limit`, or null when it is full; check and hold are one synchronous step. */
  async reserve (limit: number): Promise<LiveCodeReservation | null> {
    await this.#refresh()
    if (this.#value + this.#inFlight >= limit) return null
    this.#inFlight++
    let open = true
    return {
      commit: () => { if (open) { open = false; this.#inFlight--; this.#value++ } },
      cancel: () => { if (open) { open = false; this.#inFlight-- } }
    }
  }

  async #refresh (): Promise<void> {
    if (this.clock() - this.#at < this.maxAgeMs) return
    this.#pending ??= this.devices.countLive(new Date(this.clock()), this.clientId).then(n => {
      this.#value = n
      this.#at = this.clock()
      return n
    }).finally(() => { this.#pending = undefined })
    await this.#pending
  }
}
