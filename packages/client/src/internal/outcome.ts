/**
 * Parsing Salesforce's per-record error text (`sf__Error` in 2.0 results, `Error` in 1.0 CSV
 * results): `CODE:message:field1,field2 --`, several errors on one row written back to back.
 *
 * Also: the counts an outcome is built from (`fromCounters`) and the end-of-stream check of the
 * outcome streams against them (`counted`).
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ResultMismatchError } from "../BulkError.js"
import type * as BulkClient from "../BulkClient.js"

/** One per-record error. */
export interface RecordError {
  readonly code: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

const CODE = /^[A-Z][A-Z0-9_]*$/
const FIELDS = /^[A-Za-z0-9_.,\s]*$/

/** Splits the text at each `--` terminator that ends the text or is followed by another `CODE:`. */
const segments = (text: string): Array<string> => {
  const out: Array<string> = []
  const re = /--(?=\s*$|\s*[A-Z][A-Z0-9_]*:)/g
  let start = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(text.slice(start, m.index))
    start = m.index + 2
  }
  const rest = text.slice(start).trim()
  if (rest.length > 0) out.push(rest)
  return out
}

const parseOne = (segment: string): RecordError => {
  const s = segment.trim()
  const first = s.indexOf(":")
  const code = first > 0 ? s.slice(0, first) : ""
  if (!CODE.test(code)) return { code: "UNKNOWN", message: s, fields: [] }
  const body = s.slice(first + 1)
  const last = body.lastIndexOf(":")
  if (last >= 0 && FIELDS.test(body.slice(last + 1))) {
    const fields = body
      .slice(last + 1)
      .split(",")
      .map((f) => f.trim())
      .filter((f) => f.length > 0)
    return { code, message: body.slice(0, last).trim(), fields }
  }
  return { code, message: body.trim(), fields: [] }
}

/**
 * Parses Salesforce's error text into structured errors. Text that does not follow the format is
 * kept whole as the message of an `UNKNOWN` error, never dropped.
 */
export const parseErrors = (text: string): ReadonlyArray<RecordError> => {
  const parts = segments(text)
  if (parts.length === 0) return [{ code: "UNKNOWN", message: text, fields: [] }]
  return parts.map(parseOne)
}

/**
 * `summary.created` without reading results, where the operation decides it: every successful
 * insert creates a record, an update/delete/hardDelete never does. An upsert may do either, so only
 * its per-row `Created` flags tell (`undefined` here: counted only when results are read).
 */
export const createdFor = (operation: string, succeeded: number): number | undefined =>
  operation === "insert" ? succeeded : operation === "upsert" ? undefined : 0

/** Where a count comes from, for `ResultMismatchError`. */
export interface CountSource {
  readonly jobId: string
  readonly batchId?: string | undefined
}

/** The counts of one job/batch derived from Salesforce's counters and the rows the client sent. */
export interface CounterCounts {
  readonly succeeded: number
  readonly failed: number
  readonly unprocessed: number
}

const isCount = (n: number) => Number.isInteger(n) && n >= 0

/**
 * Counts from a job's/batch's counters (`numberRecordsProcessed`, `numberRecordsFailed`) and the
 * rows sent to it, without reading any result: succeeded = processed − failed, unprocessed = sent −
 * processed. A counter that cannot be right (negative, processed > sent, failed > processed, or a
 * completed job/batch that did not process every row sent) is a `ResultMismatchError`.
 */
export const fromCounters = (
  source: CountSource,
  sent: number,
  processed: number,
  failed: number,
  complete: boolean
): Effect.Effect<CounterCounts, ResultMismatchError> => {
  const mismatch = (expected: number, got: number) =>
    Effect.fail(new ResultMismatchError({ jobId: source.jobId, ...(source.batchId ? { batchId: source.batchId } : {}), expected, got }))
  if (!isCount(processed) || processed > sent) return mismatch(sent, processed)
  if (!isCount(failed) || failed > processed) return mismatch(processed, failed)
  if (complete && processed !== sent) return mismatch(sent, processed)
  return Effect.succeed({ succeeded: processed - failed, failed, unprocessed: sent - processed })
}

/**
 * `stream`, failing at its end with a `ResultMismatchError` when it did not yield exactly
 * `expected` elements (the counters the summary was built from disagree with the rows read).
 */
export const counted = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  source: CountSource,
  expected: number
): Stream.Stream<A, E | ResultMismatchError, R> =>
  Stream.suspend(() => {
    let n = 0
    return Stream.concat(
      Stream.mapChunks(stream, (c) => {
        n += Chunk.size(c)
        return c
      }),
      Stream.suspend(() =>
        n === expected
          ? Stream.empty
          : Stream.fail(
            new ResultMismatchError({ jobId: source.jobId, ...(source.batchId ? { batchId: source.batchId } : {}), expected, got: n })
          )
      )
    )
  })

const codes: Array<number> = new Array(18).fill(0)

/**
 * A record id as a string of its own. Values read from a result file are slices of the file's text;
 * V8 keeps the whole text alive while any slice of 13+ characters is referenced, so a caller who
 * keeps the ids of a million rows would keep every result file too. Ids are what callers keep.
 * Ids (13 to 18 letters and digits; Salesforce's are 15 or 18) are rebuilt from their character
 * codes, a flat string; anything else is returned as is (shorter slices are copied by V8 itself).
 */
export const ownId = (id: string): string => {
  const n = id.length
  if (n < 13 || n > 18) return id
  const c = codes
  for (let i = 0; i < n; i++) {
    const k = id.charCodeAt(i)
    if (!((k >= 48 && k <= 57) || (k >= 65 && k <= 90) || (k >= 97 && k <= 122))) return id
    c[i] = k
  }
  return n === 18
    ? String.fromCharCode(
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
    : String.fromCharCode(...c.slice(0, n))
}

// ---------------------------------------------------------------------------------------------
// result records
// ---------------------------------------------------------------------------------------------

/*
 * The records of the outcome streams are built with `new`, not with object literals. V8 tracks
 * where each object literal is allocated and, once most objects of one site have outlived a
 * young-generation collection (it happens early in a download: a chunk of rows in flight), it
 * "pretenures" the site: from then on every record is born in the old generation, and the row
 * values and fields it points to are kept through every young collection until the next full one.
 * On a million-row download that turned about 270 MB of short-lived records into old-generation
 * garbage, most of the client's peak memory. Objects made by a constructor call carry no
 * allocation site, so they die young like any temporary. The constructors' prototype is
 * `Object.prototype`: a record is a plain object, as before (same own keys in the same order).
 */

type Row = Readonly<Record<string, string>>

/** Gives a constructor function plain-object instances and the type `new` returns. */
const plain = <C>(f: (this: any, ...args: Array<any>) => void): C => {
  ;(f as { prototype: object }).prototype = Object.prototype
  return f as C
}

/** A 2.0 success: `{ _tag, jobId, id, created, row }`. */
export const Success2 = plain<new(jobId: string, id: string, created: boolean, row: Row) => BulkClient.Success>(
  function(this: any, jobId: string, id: string, created: boolean, row: Row) {
    this._tag = "Success"
    this.jobId = jobId
    this.id = id
    this.created = created
    this.row = row
  }
)

/** A 2.0 failure: `{ _tag, jobId, id?, code, message, fields, errors, row }` (`id` only when Salesforce gave one). */
export const Failure2 = plain<
  new(jobId: string, id: string, errors: ReadonlyArray<RecordError>, row: Row) => BulkClient.Failure
>(function(this: any, jobId: string, id: string, errors: ReadonlyArray<RecordError>, row: Row) {
  this._tag = "Failure"
  this.jobId = jobId
  if (id !== "") this.id = id
  this.code = errors[0]!.code
  this.message = errors[0]!.message
  this.fields = errors[0]!.fields
  this.errors = errors
  this.row = row
})

/** A 2.0 unprocessed row: `{ _tag, jobId, row, reason? }`. */
export const Unprocessed2 = plain<new(jobId: string, row: Row, reason: string | undefined) => BulkClient.Unprocessed>(
  function(this: any, jobId: string, row: Row, reason: string | undefined) {
    this._tag = "Unprocessed"
    this.jobId = jobId
    this.row = row
    if (reason !== undefined) this.reason = reason
  }
)

/** A 1.0 success: `{ _tag, jobId, batchId, position, row, id, created }`. */
export const Success1 = plain<
  new(jobId: string, batchId: string, position: number, row: Row, id: string, created: boolean) => BulkClient.Success
>(function(this: any, jobId: string, batchId: string, position: number, row: Row, id: string, created: boolean) {
  this._tag = "Success"
  this.jobId = jobId
  this.batchId = batchId
  this.position = position
  this.row = row
  this.id = id
  this.created = created
})

/** A 1.0 failure: `{ _tag, jobId, batchId, position, row, id?, code, message, fields, errors }`. */
export const Failure1 = plain<
  new(jobId: string, batchId: string, position: number, row: Row, id: string, errors: ReadonlyArray<RecordError>) => BulkClient.Failure
>(function(this: any, jobId: string, batchId: string, position: number, row: Row, id: string, errors: ReadonlyArray<RecordError>) {
  this._tag = "Failure"
  this.jobId = jobId
  this.batchId = batchId
  this.position = position
  this.row = row
  if (id !== "") this.id = id
  this.code = errors[0]!.code
  this.message = errors[0]!.message
  this.fields = errors[0]!.fields
  this.errors = errors
})

/** A 1.0 unprocessed row: `{ _tag, jobId, batchId, position, row, reason? }`. */
export const Unprocessed1 = plain<
  new(jobId: string, batchId: string, position: number, row: Row, reason: string | undefined) => BulkClient.Unprocessed
>(function(this: any, jobId: string, batchId: string, position: number, row: Row, reason: string | undefined) {
  this._tag = "Unprocessed"
  this.jobId = jobId
  this.batchId = batchId
  this.position = position
  this.row = row
  if (reason !== undefined) this.reason = reason
})
