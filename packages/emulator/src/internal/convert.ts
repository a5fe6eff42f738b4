/**
 * Input value parsing per field type, with Salesforce's per-record error codes and messages.
 */
import type { RecordError } from "./model.js"
import type { FieldInfo, Value } from "./store.js"

const DAY = 86_400_000
const INT = /^[+-]?\d+$/
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})Z?$/
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/

/** A per-record error. */
export const recordError = (statusCode: string, message: string, fields: ReadonlyArray<string> = []): RecordError => ({
  statusCode,
  message,
  fields
})

/** True when `r` is an error rather than a value. */
export const isError = (r: Value | RecordError): r is RecordError => r !== null && typeof r === "object"

const notOfType = (f: FieldInfo, v: string | number | boolean): RecordError =>
  recordError("INVALID_TYPE_ON_FIELD_IN_RECORD", `${f.label}: value not of required type: ${v}`, [f.name])

/** Epoch days of a calendar date, or undefined when it does not exist. */
const epochDays = (y: number, m: number, d: number): number | undefined => {
  const ms = Date.UTC(y, m - 1, d)
  const back = new Date(ms)
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return undefined
  return ms / DAY
}

/** Epoch days of `yyyy-MM-dd` (optionally with a legacy trailing `Z`), or undefined. */
export const parseDate = (s: string): number | undefined => {
  const m = DATE.exec(s)
  if (m) return epochDays(+m[1]!, +m[2]!, +m[3]!)
  const ms = parseDateTime(s)
  return ms === undefined ? undefined : Math.floor(ms / DAY)
}

/** Epoch ms of an ISO-8601 datetime (offset optional, UTC when absent; date alone = midnight UTC). */
export const parseDateTime = (s: string): number | undefined => {
  const m = DATETIME.exec(s)
  if (!m) return undefined
  const days = epochDays(+m[1]!, +m[2]!, +m[3]!)
  if (days === undefined) return undefined
  const hh = m[4] ? +m[4] : 0
  const mm = m[5] ? +m[5] : 0
  const ss = m[6] ? +m[6] : 0
  if (hh > 23 || mm > 59 || ss > 59) return undefined
  const ms = m[7] ? Number(m[7].padEnd(3, "0").slice(0, 3)) : 0
  let offset = 0
  const zone = m[8]
  if (zone && zone !== "Z") {
    const digits = zone.replace(":", "")
    const oh = +digits.slice(1, 3)
    const om = +digits.slice(3, 5)
    if (oh > 14 || om > 59) return undefined
    offset = (digits[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000
  }
  return days * DAY + ((hh * 60 + mm) * 60 + ss) * 1000 + ms - offset
}

const parseBoolean = (s: string): boolean | undefined => {
  switch (s.toLowerCase()) {
    case "true":
    case "1":
    case "yes":
      return true
    case "false":
    case "0":
    case "no":
      return false
    default:
      return undefined
  }
}

/**
 * The stored value for an input (never null, never empty: the caller handles those). References
 * are checked for format only; existence is the caller's job.
 */
export const convert = (f: FieldInfo, input: string | number | boolean): Value | RecordError => {
  switch (f.type) {
    case "boolean": {
      if (typeof input === "boolean") return input
      const b = parseBoolean(String(input))
      return b === undefined ? notOfType(f, input) : b
    }
    case "int": {
      if (typeof input === "number") return Number.isInteger(input) ? input : notOfType(f, input)
      if (typeof input !== "string") return notOfType(f, input)
      if (INT.test(input)) return Number(input)
      if (DECIMAL.test(input) && Number.isInteger(Number(input))) return Number(input)
      return notOfType(f, input)
    }
    case "double":
    case "currency":
    case "percent": {
      if (typeof input === "number") return Number.isFinite(input) ? input : notOfType(f, input)
      if (typeof input !== "string" || !DECIMAL.test(input)) return notOfType(f, input)
      const n = Number(input)
      return Number.isFinite(n) ? n : notOfType(f, input)
    }
    case "date": {
      if (typeof input !== "string") return notOfType(f, input)
      const d = parseDate(input)
      return d === undefined ? notOfType(f, input) : d
    }
    case "datetime": {
      if (typeof input !== "string") return notOfType(f, input)
      const ms = parseDateTime(input)
      return ms === undefined ? notOfType(f, input) : ms
    }
    case "email": {
      const s = String(input)
      if (f.length !== undefined && s.length > f.length) return tooLong(f, s)
      return EMAIL.test(s) ? s : recordError("INVALID_EMAIL_ADDRESS", `${f.label}: invalid email address: ${s}`, [f.name])
    }
    case "picklist": {
      const s = String(input)
      if (f.picklist && !f.picklist.has(s)) {
        return recordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", `${f.label}: bad value for restricted picklist field: ${s}`, [f.name])
      }
      if (f.length !== undefined && s.length > f.length) return tooLong(f, s)
      return s
    }
    default: {
      const s = String(input)
      if (f.length !== undefined && s.length > f.length) return tooLong(f, s)
      return s
    }
  }
}

const tooLong = (f: FieldInfo, s: string): RecordError =>
  recordError(
    "STRING_TOO_LONG",
    `${f.label}: data value too large: ${s.length > 80 ? `${s.slice(0, 80)}...` : s} (max length=${f.length})`,
    [f.name]
  )
