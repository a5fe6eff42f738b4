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

/** Base-62 digit codes, and the code that follows each one (`0`->`1`, ..., `y`->`z`; `z` wraps). */
const DIGIT = Array.from(BASE62, (c) => c.charCodeAt(0))
const NEXT_DIGIT = new Uint8Array(128)
for (let i = 0; i < 61; i++) NEXT_DIGIT[DIGIT[i]!] = DIGIT[i + 1]!
const CHECKSUM_CODES = Array.from(CHECKSUM, (c) => c.charCodeAt(0))

/** One key prefix's counter and the character codes of its last id (15 + 3 checksum). */
class Counter {
  n = 0
  readonly codes = new Uint8Array(18)
  constructor(prefix: string, pod: string) {
    const start = prefix + pod + encodeBase62(0, 9)
    for (let i = 0; i < 15; i++) this.codes[i] = start.charCodeAt(i)
  }
  /** Advances to the next id: the base-62 counter (characters 6-14) is incremented in place. */
  step(): void {
    const n = this.n + 1
    // 62^9 > 2^53: a safe-integer counter never overflows the nine characters.
    if (n > Number.MAX_SAFE_INTEGER) throw new RangeError(`id counter ${n} does not fit in 9 base-62 characters`)
    this.n = n
    const c = this.codes
    let p = 14
    while (c[p] === 122) c[p--] = 48
    c[p] = NEXT_DIGIT[c[p]!]!
  }
  /** The last id's 15 characters. */
  id15(): string {
    const c = this.codes
    return String.fromCharCode(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!)
  }
  /** The last id's 18 characters (the checksum computed from the codes). */
  id18(): string {
    const c = this.codes
    for (let group = 0; group < 3; group++) {
      let bits = 0
      for (let i = 0; i < 5; i++) {
        const x = c[group * 5 + i]!
        if (x >= 65 && x <= 90) bits |= 1 << i
      }
      c[15 + group] = CHECKSUM_CODES[bits]!
    }
    return String.fromCharCode(
      c[0]!,
      c[1]!,
      c[2]!,
      c[3]!,
      c[4]!,
      c[5]!,
      c[6]!,
      c[7]!,
      c[8]!,
      c[9]!,
      c[10]!,
      c[11]!,
      c[12]!,
      c[13]!,
      c[14]!,
      c[15]!,
      c[16]!,
      c[17]!
    )
  }
}

/**
 * Makes ids for one emulated org: `prefix + pod + counter`, with one counter per key prefix so the
 * ids of each object sort in creation order. `pod` is the 3 characters Salesforce uses for the
 * instance and reserved digit.
 */
export class IdGenerator {
  private readonly counters = new Map<string, Counter>()
  constructor(private readonly pod: string = "5g0") {
    if (!/^[0-9A-Za-z]{3}$/.test(pod)) throw new RangeError(`pod must be 3 base-62 characters, got '${pod}'`)
  }
  /** The id `next15(prefix)` will return, without consuming it. */
  peek15(prefix: string): string {
    return prefix + this.pod + encodeBase62((this.counters.get(prefix)?.n ?? 0) + 1, 9)
  }
  /** The counter of a key prefix, created (and the prefix checked) on first use. */
  private counter(prefix: string): Counter {
    let c = this.counters.get(prefix)
    if (c === undefined) {
      if (!/^[0-9A-Za-z]{3}$/.test(prefix)) throw new RangeError(`key prefix must be 3 base-62 characters, got '${prefix}'`)
      c = new Counter(prefix, this.pod)
      this.counters.set(prefix, c)
    }
    return c
  }
  /** The next 15-character id for `prefix`. */
  next15(prefix: string): string {
    const c = this.counter(prefix)
    c.step()
    return c.id15()
  }
  /** The 18-character form of the last id `next15(prefix)` returned (checksum from the digits, no re-scan). */
  last18(prefix: string): string {
    return this.counter(prefix).id18()
  }
  /** The next 18-character id for `prefix`. */
  next(prefix: string): string {
    const c = this.counter(prefix)
    c.step()
    return c.id18()
  }
}
