/**
 * Fault injection: a spec such as
 * `"5xx=0.05,reset=0.02,slow=0.01,limit=0.02,lost-answer=0.02,stall=0.01,expire-after=500,batch-fail=0.01"`
 * and a seeded PRNG, so the same seed and the same request sequence replay the same outcomes.
 */

/** Fault settings, normalized. Rates are per request in [0, 1]. */
export interface FaultConfig {
  /** Rate of 503 (three in four) / 500 answers. */
  readonly serverError: number
  /** Rate of connections destroyed mid-body. */
  readonly reset: number
  /** Rate of requests delayed by `slowMs` before being handled. */
  readonly slow: number
  /** Rate of request-limit answers (2.0: 403 REQUEST_LIMIT_EXCEEDED, 1.0: 400 ExceededQuota; one in four 429). */
  readonly limit: number
  /**
   * Rate of requests processed in full (effects applied) whose answer is then cut: the head and part
   * of the body are written and the socket destroyed (nothing at all is written for an empty body).
   */
  readonly lostAnswer: number
  /**
   * Rate of requests processed in full whose answer stalls: the head and part of the body are
   * written, then nothing for `slowMs`, then the rest (an empty body is held back whole for `slowMs`).
   */
  readonly stall: number
  /** Sessions expire after this many authenticated requests (0 = never). */
  readonly expireAfter: number
  /** Rate of whole batches (1.0) / jobs (2.0) failing, asked by the handlers. */
  readonly batchFail: number
}

/** Faults as accepted from users: the spec string, or an object with either spelling of the keys. */
export type FaultsInput =
  | string
  | {
    readonly "5xx"?: number
    readonly serverError?: number
    readonly reset?: number
    readonly slow?: number
    readonly limit?: number
    readonly "lost-answer"?: number
    readonly lostAnswer?: number
    readonly stall?: number
    readonly "expire-after"?: number
    readonly expireAfter?: number
    readonly "batch-fail"?: number
    readonly batchFail?: number
  }

/** No faults. */
export const none: FaultConfig = { serverError: 0, reset: 0, slow: 0, limit: 0, lostAnswer: 0, stall: 0, expireAfter: 0, batchFail: 0 }

/** A fault spec that cannot be used; `message` says what to fix. */
export class FaultSpecError extends Error {
  constructor(readonly reason: string) {
    super(
      `Invalid fault spec: ${reason}. Expected comma-separated key=value pairs such as "5xx=0.05,reset=0.02,slow=0.01,limit=0.02,lost-answer=0.02,stall=0.01,expire-after=500,batch-fail=0.01" (rates in [0,1], expire-after a whole number of requests).`
    )
    this.name = "FaultSpecError"
  }
}

const KEYS: Record<string, keyof FaultConfig> = {
  "5xx": "serverError",
  servererror: "serverError",
  reset: "reset",
  slow: "slow",
  limit: "limit",
  "lost-answer": "lostAnswer",
  lostanswer: "lostAnswer",
  stall: "stall",
  "expire-after": "expireAfter",
  expireafter: "expireAfter",
  "batch-fail": "batchFail",
  batchfail: "batchFail"
}

/** The total rate of the per-request faults (one draw picks at most one of them). */
const requestRate = (c: FaultConfig): number => c.serverError + c.reset + c.slow + c.limit + c.lostAnswer + c.stall

/** Parse and validate a fault spec (string or object); undefined or "" means no faults. */
export const parse = (input: FaultsInput | undefined | null): FaultConfig => {
  if (input === undefined || input === null) return none
  const entries: Array<[string, unknown]> = []
  if (typeof input === "string") {
    for (const part of input.split(",")) {
      const item = part.trim()
      if (item === "") continue
      const eq = item.indexOf("=")
      if (eq < 0) throw new FaultSpecError(`'${item}' has no '=value'`)
      const raw = item.slice(eq + 1).trim()
      const n = raw === "" ? NaN : Number(raw)
      entries.push([item.slice(0, eq).trim(), n])
    }
  } else if (typeof input === "object") {
    entries.push(...Object.entries(input))
  } else {
    throw new FaultSpecError(`expected a string or an object, got ${typeof input}`)
  }
  const out: { -readonly [K in keyof FaultConfig]: number } = { ...none }
  for (const [key, value] of entries) {
    const field = KEYS[key.toLowerCase()]
    if (field === undefined) {
      throw new FaultSpecError(`unknown fault '${key}' (known: 5xx, reset, slow, limit, lost-answer, stall, expire-after, batch-fail)`)
    }
    if (typeof value !== "number" || !Number.isFinite(value)) throw new FaultSpecError(`'${key}' must be a number`)
    if (field === "expireAfter") {
      if (!Number.isInteger(value) || value < 0) throw new FaultSpecError(`expire-after must be a whole number >= 0, got ${value}`)
    } else if (value < 0 || value > 1) {
      throw new FaultSpecError(`'${key}' is a per-request rate and must be in [0,1], got ${value}`)
    }
    out[field] = value
  }
  const total = requestRate(out)
  if (total > 1 + 1e-9) throw new FaultSpecError(`5xx + reset + slow + limit + lost-answer + stall add up to ${total}, more than 1`)
  return out
}

/** The spec string of a config (round-trips through `parse`). */
export const format = (c: FaultConfig): string =>
  [
    ["5xx", c.serverError],
    ["reset", c.reset],
    ["slow", c.slow],
    ["limit", c.limit],
    ["lost-answer", c.lostAnswer],
    ["stall", c.stall],
    ["expire-after", c.expireAfter],
    ["batch-fail", c.batchFail]
  ].filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`).join(",")

/** mulberry32: a tiny, fast, seedable PRNG returning floats in [0, 1). */
export const mulberry32 = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What to do with one faultable request. */
export type Decision =
  | { readonly kind: "none" }
  | { readonly kind: "5xx"; readonly status: 500 | 503 }
  | { readonly kind: "reset" }
  | { readonly kind: "slow" }
  | { readonly kind: "limit"; readonly status: 403 | 429 }
  | { readonly kind: "lost-answer" }
  | { readonly kind: "stall" }

/** Names of the counters in `FaultCounts`. */
export type FaultKind = "5xx" | "reset" | "slow" | "limit" | "lost-answer" | "stall" | "expire-after" | "batch-fail"

/** Faults injected so far, by kind. */
export type FaultCounts = Record<FaultKind, number>

const NONE: Decision = { kind: "none" }

/**
 * The fault state of one emulator: current config, PRNGs and counters. Request decisions draw from
 * one PRNG in request-arrival order; `batchFail` draws from a second PRNG derived from the same seed,
 * because handlers ask it from timers whose interleaving with requests is not deterministic.
 */
export class Faults {
  private requestRng: () => number
  private batchRng: () => number
  readonly counts: FaultCounts = {
    "5xx": 0,
    reset: 0,
    slow: 0,
    limit: 0,
    "lost-answer": 0,
    stall: 0,
    "expire-after": 0,
    "batch-fail": 0
  }
  constructor(public config: FaultConfig, public seed: number) {
    this.requestRng = mulberry32(seed)
    this.batchRng = mulberry32(seed ^ 0x5bd1e995)
  }

  /** Replace the config and restart both PRNGs from `seed` (the current one when omitted). */
  reset(config: FaultConfig, seed: number = this.seed): void {
    this.config = config
    this.seed = seed
    this.requestRng = mulberry32(seed)
    this.batchRng = mulberry32(seed ^ 0x5bd1e995)
  }

  /**
   * The outcome of the next faultable request (one draw, plus one more for the status of a hit).
   * The newer kinds take the edges after the older ones, so a spec without them replays as before.
   */
  decide(): Decision {
    const c = this.config
    if (requestRate(c) === 0) return NONE
    const u = this.requestRng()
    let edge = c.serverError
    if (u < edge) {
      this.counts["5xx"]++
      return { kind: "5xx", status: this.requestRng() < 0.25 ? 500 : 503 }
    }
    edge += c.reset
    if (u < edge) {
      this.counts.reset++
      return { kind: "reset" }
    }
    edge += c.slow
    if (u < edge) {
      this.counts.slow++
      return { kind: "slow" }
    }
    edge += c.limit
    if (u < edge) {
      this.counts.limit++
      return { kind: "limit", status: this.requestRng() < 0.25 ? 429 : 403 }
    }
    edge += c.lostAnswer
    if (u < edge) {
      this.counts["lost-answer"]++
      return { kind: "lost-answer" }
    }
    edge += c.stall
    if (u < edge) {
      this.counts.stall++
      return { kind: "stall" }
    }
    return NONE
  }

  /** True when the next batch (1.0) or job (2.0) should fail as a whole. */
  batchFail(): boolean {
    if (this.config.batchFail === 0) return false
    const hit = this.batchRng() < this.config.batchFail
    if (hit) this.counts["batch-fail"]++
    return hit
  }

  /** Count a session expired by `expire-after`. */
  countExpiry(): void {
    this.counts["expire-after"]++
  }
}
