/** Milliseconds since the epoch; tests freeze it instead of sleeping. */
export type Clock = () => number
export const systemClock: Clock = () => Date.now()
