/**
 * An order-independent digest of a set of rows: count + sum and xor of a 32-bit FNV-1a hash per
 * row. Two processes that saw the same rows (in any order, any page split) get the same digest,
 * and neither has to keep the rows.
 */

/** 32-bit FNV-1a of a string. */
export const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Accumulates a digest. */
export class Digest {
  count = 0
  private sum = 0
  private xor = 0
  /** Add one row's key. */
  add(key: string): void {
    const h = fnv1a(key)
    this.count++
    this.sum = (this.sum + h) % 0x1_0000_0000_0000
    this.xor = (this.xor ^ h) >>> 0
  }
  /** `count:sum:xor`. */
  toString(): string {
    return `${this.count}:${this.sum.toString(16)}:${this.xor.toString(16)}`
  }
}

/** The key a queried row contributes: id and the values the bench checks. */
export const queryRowKey = (rec: { readonly [k: string]: unknown }): string =>
  `${String(rec["Id"])}|${String(rec["Name"])}|${String(rec["ExternalId__c"])}|${String(rec["NumberOfEmployees"])}|${
    String(rec["BillingCity"])
  }`
