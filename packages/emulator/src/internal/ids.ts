/**
 * Salesforce record ids: 15 case-sensitive base-62 characters (3-character key prefix first), plus a
 * 3-character case-safety checksum for the 18-character form.
 *
 * Generated ids are fixed width over the alphabet `0-9A-Za-z`, which is in code-unit order, so plain
 * string comparison sorts them in creation order (the store relies on this for PK chunking).
 */

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
const ID15 = /^[0-9A-Za-z]{15}$/
const ID18 = /^[0-9A-Za-z]{18}$/

/** The 3-character checksum Salesforce appends to a 15-character id. */
export const checksum = (id15: string): string => {
  let out = ""
  for (let group = 0; group < 3; group++) {
    let bits = 0
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(group * 5 + i)
      if (c >= 65 && c <= 90) bits |= 1 << i
    }
    out += CHECKSUM[bits]
  }
  return out
}

/** The 18-character form of a 15- or 18-character id (an 18-character id is returned unchanged). */
export const to18 = (id: string): string => (id.length === 15 ? id + checksum(id) : id)

/** The 15-character (case-sensitive) form of a 15- or 18-character id. */
export const to15 = (id: string): string => (id.length === 18 ? id.slice(0, 15) : id)

/**
 * True for a well-formed 15-character id, or an 18-character id whose checksum matches (the
 * checksum is compared case-insensitively, as Salesforce does).
 */
export const isValidId = (id: string): boolean => {
  if (id.length === 15) return ID15.test(id)
  if (id.length === 18) return ID18.test(id) && checksum(id.slice(0, 15)) === id.slice(15).toUpperCase()
  return false
}

/** The id's key prefix (`001` for Account). */
export const keyPrefix = (id: string): string => id.slice(0, 3)

/** Fixed-width base-62 encoding of a non-negative integer. */
export const encodeBase62 = (n: number, width: number): string => {
  let out = ""
  let rest = n
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62]! + out
    rest = Math.floor(rest / 62)
  }
  if (rest > 0) throw new RangeError(`id counter ${n} does not fit in ${width} base-62 characters`)
  return out
}

/** The integer encoded in base 62 by `s` from character `start` on (NaN on a non-base-62 character). */
export const decodeBase62 = (s: string, start = 0): number => {
  let n = 0
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : c >= 97 && c <= 122 ? c - 61 : -1
    if (d < 0) return NaN
    n = n * 62 + d
  }
  return n
}

/**
 * Makes ids for one emulated org: `prefix + pod + counter`, with one counter per key prefix so the
 * ids of each object sort in creation order. `pod` is the 3 characters Salesforce uses for the
 * instance and reserved digit.
 */
export class IdGenerator {
  private readonly counters = new Map<string, number>()
  private readonly checked = new Set<string>()
  constructor(private readonly pod: string = "5g0") {
    if (!/^[0-9A-Za-z]{3}$/.test(pod)) throw new RangeError(`pod must be 3 base-62 characters, got '${pod}'`)
  }
  /** The id `next15(prefix)` will return, without consuming it. */
  peek15(prefix: string): string {
    return prefix + this.pod + encodeBase62((this.counters.get(prefix) ?? 0) + 1, 9)
  }
  /** The next 15-character id for `prefix`. */
  next15(prefix: string): string {
    if (!this.checked.has(prefix)) {
      if (!/^[0-9A-Za-z]{3}$/.test(prefix)) throw new RangeError(`key prefix must be 3 base-62 characters, got '${prefix}'`)
      this.checked.add(prefix)
    }
    const n = (this.counters.get(prefix) ?? 0) + 1
    this.counters.set(prefix, n)
    return prefix + this.pod + encodeBase62(n, 9)
  }
  /** The next 18-character id for `prefix`. */
  next(prefix: string): string {
    return to18(this.next15(prefix))
  }
}
