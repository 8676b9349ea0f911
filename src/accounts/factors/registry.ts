// The methods this installation offers (SECOND_FACTOR_METHODS), by id.
import type { FactorMethod, MethodId } from './types.js'

export class FactorRegistry {
  private readonly methods = new Map<MethodId, FactorMethod>()

  register (method: FactorMethod): this {
    this.methods.set(method.id, method)
    return this
  }

  get (id: string): FactorMethod | undefined {
    return this.methods.get(id as MethodId)
  }

  has (id: string): boolean {
    return this.methods.has(id as MethodId)
  }

  all (): FactorMethod[] {
    return [...this.methods.values()]
  }
}
