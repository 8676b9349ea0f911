/** A mistake in an administrator's input: the CLI prints the message and exits non-zero. */
export class AdminError extends Error {
  constructor (message: string, readonly code: 'BAD_INPUT' | 'NOT_FOUND' | 'CONFLICT' = 'BAD_INPUT') {
    super(message)
    this.name = 'AdminError'
  }
}
