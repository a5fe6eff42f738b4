/**
 * Bulk API 1.0 wire format: control documents (XML or JSON, whichever the server answers with),
 * record encoders for the three content types, and streamed result parsers.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import { CsvReader } from "@sfbulk/csv"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type BulkError, InvalidInputError, TransportError } from "../BulkError.js"
import * as Csv from "../Csv.js"
import { mapChunksOrFail } from "./chunkStage.js"
import { CsvParseFailure, parseRecords } from "./csvParse.js"
import { isNil, jsonArrayElements, parseFragment, ScanError, type XmlNode, xmlElements } from "./scan.js"
import { escapeXml, readBody, requestText, Transport as TransportTag, type Transport } from "./transport.js"
import type { BatchInfo, JobInfo } from "../Bulk1.js"

export const NS = "http://www.force.com/2009/06/asyncapi/dataload"

/** The flat fields of a control document (jobInfo/batchInfo), as strings. */
export type Fields = Readonly<Record<string, string | undefined>>

const flattenJson = (o: Record<string, unknown>): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue
    out[k] = typeof v === "number" && k === "apiVersion" ? v.toFixed(1) : String(v)
  }
  return out
}

const flattenXml = (nodes: ReadonlyArray<XmlNode>): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const n of nodes) if (out[n.name] === undefined) out[n.name] = n.text.trim()
  return out
}

const malformed = (what: string, text: string) =>
  new TransportError({
    description: `unexpected ${what} answer: ${text.slice(0, 200)}`,
    method: "GET",
    url: what,
    mayHaveReachedServer: true
  })

/** Parse a jobInfo or batchInfo document. */
export const parseInfo = (text: string, root: "jobInfo" | "batchInfo"): Effect.Effect<Fields, TransportError> =>
  Effect.suspend(() => {
    const t = text.trim()
    if (t.startsWith("{")) {
      try {
        return Effect.succeed(flattenJson(JSON.parse(t) as Record<string, unknown>))
      } catch {
        return Effect.fail(malformed(root, t))
      }
    }
    const doc = parseFragment(t).find((n) => n.name === root)
    return doc === undefined ? Effect.fail(malformed(root, t)) : Effect.succeed(flattenXml(doc.children))
  })

const Count = Schema.optionalWith(Schema.NumberFromString, { default: () => 0 })
const Text = Schema.optional(Schema.String)

/**
 * A jobInfo document's fields (strings, as both the XML and the flattened JSON give them) decoded
 * as a `JobInfo`: counters as numbers, states and modes checked against the values Salesforce
 * documents, the fields Salesforce may leave out given their defaults.
 */
export const JobInfoFields = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "" }),
  operation: Schema.optionalWith(Schema.Literal("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll"), {
    default: () => "insert" as const
  }),
  object: Schema.optionalWith(Schema.String, { default: () => "" }),
  state: Schema.optionalWith(Schema.Literal("Open", "Closed", "Aborted", "Failed"), { default: () => "Open" as const }),
  contentType: Schema.optionalWith(Schema.Literal("CSV", "JSON", "XML", "ZIP_CSV", "ZIP_JSON", "ZIP_XML"), {
    default: () => "XML" as const
  }),
  concurrencyMode: Schema.optionalWith(Schema.Literal("Parallel", "Serial"), { default: () => "Parallel" as const }),
  externalIdFieldName: Text,
  assignmentRuleId: Text,
  apiVersion: Schema.optionalWith(Schema.String, { default: () => "" }),
  createdDate: Text,
  numberBatchesQueued: Count,
  numberBatchesInProgress: Count,
  numberBatchesCompleted: Count,
  numberBatchesFailed: Count,
  numberBatchesTotal: Count,
  numberRecordsProcessed: Count,
  numberRecordsFailed: Count,
  numberRetries: Count,
  totalProcessingTime: Count
})

/** A batchInfo document's fields decoded as a `BatchInfo` (`Not Processed` spelled `NotProcessed`). */
export const BatchInfoFields = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "" }),
  jobId: Schema.optionalWith(Schema.String, { default: () => "" }),
  state: Schema.optionalWith(
    Schema.transform(
      Schema.Literal("Queued", "InProgress", "Completed", "Failed", "NotProcessed", "Not Processed"),
      Schema.Literal("Queued", "InProgress", "Completed", "Failed", "NotProcessed"),
      { strict: true, decode: (s) => (s === "Not Processed" ? "NotProcessed" : s), encode: (s) => s }
    ),
    { default: () => "Queued" as const }
  ),
  stateMessage: Text,
  createdDate: Text,
  numberRecordsProcessed: Count,
  numberRecordsFailed: Count,
  totalProcessingTime: Count
})

const decodeJobInfo: (u: unknown) => Effect.Effect<JobInfo, ParseResult.ParseError> = Schema.decodeUnknown(JobInfoFields)
const decodeBatchInfo: (u: unknown) => Effect.Effect<BatchInfo, ParseResult.ParseError> = Schema.decodeUnknown(BatchInfoFields)

const undecodable = (what: string) => (e: ParseResult.ParseError) =>
  new TransportError({
    description: `unexpected ${what} answer: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
    method: "GET",
    url: what,
    mayHaveReachedServer: true,
    unparseable: true
  })

/** A jobInfo answer (XML or JSON) as a `JobInfo`, decoded with {@link JobInfoFields}. */
export const parseJobInfo = (text: string): Effect.Effect<JobInfo, TransportError> =>
  Effect.flatMap(parseInfo(text, "jobInfo"), (f) => Effect.mapError(decodeJobInfo(f), undecodable("jobInfo")))

/** A batchInfo answer (XML or JSON) as a `BatchInfo`, decoded with {@link BatchInfoFields}. */
export const parseBatchInfo = (text: string): Effect.Effect<BatchInfo, TransportError> =>
  Effect.flatMap(parseInfo(text, "batchInfo"), (f) => Effect.mapError(decodeBatchInfo(f), undecodable("batchInfo")))

/** A batchInfoList answer (XML or JSON) as `BatchInfo`s. */
export const parseBatchInfoList = (text: string): Effect.Effect<ReadonlyArray<BatchInfo>, TransportError> =>
  Effect.flatMap(parseInfoList(text), (list) => Effect.mapError(decodeBatchInfoList(list), undecodable("batchInfoList")))

/**
 * The list decoded in one synchronous step (an `Either`, which is an Effect). Why: a job's list
 * holds every batch (hundreds on a large load, polled several times a second); decoded an Effect
 * per batch, the decode ran past the fiber's yield budget, so the parsed document and the text
 * lived across event-loop turns and young GCs, and V8 promoted them: old-generation garbage
 * growing with every poll.
 */
const decodeBatchInfoList = Schema.decodeUnknownEither(Schema.Array(BatchInfoFields))

const BATCH_BLOCK = /<batchInfo\b[^>]*>([\s\S]*?)<\/batchInfo>/g
const BATCH_ID = /<id>\s*([^<]*?)\s*<\/id>/
const BATCH_PROCESSED = /<numberRecordsProcessed>\s*(\d+)\s*<\/numberRecordsProcessed>/

/**
 * A batchInfoList answer read for the batches `wanted` names: those decoded as
 * `parseBatchInfoList` decodes them, the others passed over, only their `numberRecordsProcessed`
 * summed (`processed`, over every batch listed). Why: the list holds every batch of the job (500
 * on a 5M-row 1.0 load) and is polled while batches run, and decoding all of it on each poll was
 * about a quarter of what a 5M-row 1.0 upload allocated (~100 MB of XML nodes and Schema parse
 * objects): young-generation GCs that often, and each promoted what uploads had in flight. An
 * answer other than a plain XML list (JSON, namespace prefixes) is parsed whole.
 */
export const scanBatchInfoList = (
  text: string,
  wanted: (id: string) => boolean
): Effect.Effect<{ readonly infos: ReadonlyArray<BatchInfo>; readonly processed: number }, TransportError> =>
  Effect.suspend(() => {
    const t = text.trim()
    if (t.startsWith("{") || !t.includes("<batchInfoList")) {
      return Effect.map(parseBatchInfoList(text), (all) => ({
        infos: all.filter((b) => wanted(b.id)),
        processed: all.reduce((n, b) => n + b.numberRecordsProcessed, 0)
      }))
    }
    const fields: Array<Fields> = []
    let processed = 0
    for (const m of t.matchAll(BATCH_BLOCK)) {
      const block = m[1]!
      const p = BATCH_PROCESSED.exec(block)
      if (p !== null) processed += Number(p[1])
      const id = BATCH_ID.exec(block)?.[1]
      if (id !== undefined && wanted(id)) fields.push(flattenXml(parseFragment(block)))
    }
    return Effect.map(
      Effect.mapError(decodeBatchInfoList(fields), undecodable("batchInfoList")),
      (infos) => ({ infos, processed })
    )
  })

/** The path of a 1.0 job's batch list. */
export const batchListPath = (apiVersion: string, jobId: string): string => `/services/async/${apiVersion}/job/${jobId}/batch`

/** A 1.0 job's batch list, read for the batches `wanted` names (`scanBatchInfoList`): one GET. */
export const listBatchesFor = (
  jobId: string,
  wanted: (id: string) => boolean
): Effect.Effect<{ readonly infos: ReadonlyArray<BatchInfo>; readonly processed: number }, BulkError, Transport> =>
  Effect.flatMap(TransportTag, (t) =>
    Effect.flatMap(
      requestText(t, { method: "GET", path: batchListPath(t.apiVersion, jobId), api: "1.0", jobId }),
      (r) => scanBatchInfoList(r.text, wanted)
    ))

/** Parse a batchInfoList document (XML `<batchInfoList>` or JSON `{"batchInfo":[...]}`). */
export const parseInfoList = (text: string): Effect.Effect<ReadonlyArray<Fields>, TransportError> =>
  Effect.suspend(() => {
    const t = text.trim()
    if (t.startsWith("{")) {
      try {
        const o = JSON.parse(t) as { batchInfo?: unknown }
        const list = o.batchInfo === undefined ? [] : Array.isArray(o.batchInfo) ? o.batchInfo : [o.batchInfo]
        return Effect.succeed(list.map((b) => flattenJson(b as Record<string, unknown>)))
      } catch {
        return Effect.fail(malformed("batchInfoList", t))
      }
    }
    const doc = parseFragment(t).find((n) => n.name === "batchInfoList")
    return doc === undefined
      ? Effect.fail(malformed("batchInfoList", t))
      : Effect.succeed(doc.children.filter((n) => n.name === "batchInfo").map((n) => flattenXml(n.children)))
  })

/** Parse a query result-id list (XML `<result-list>` or JSON array). */
export const parseResultIds = (text: string): Effect.Effect<ReadonlyArray<string>, TransportError> =>
  Effect.suspend(() => {
    const t = text.trim()
    if (t.startsWith("[")) {
      try {
        return Effect.succeed((JSON.parse(t) as Array<unknown>).map(String))
      } catch {
        return Effect.fail(malformed("result-list", t))
      }
    }
    if (t.startsWith("{")) {
      try {
        const o = JSON.parse(t) as { result?: unknown }
        const r = o.result === undefined ? [] : Array.isArray(o.result) ? o.result : [o.result]
        return Effect.succeed(r.map(String))
      } catch {
        return Effect.fail(malformed("result-list", t))
      }
    }
    const doc = parseFragment(t).find((n) => n.name === "result-list")
    return doc === undefined
      ? Effect.fail(malformed("result-list", t))
      : Effect.succeed(doc.children.filter((n) => n.name === "result").map((n) => n.text.trim()))
  })

/** A jobInfo XML document with the given fields, in XSD order. */
export const jobInfoXml = (fields: ReadonlyArray<readonly [string, string | undefined]>): string =>
  `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="${NS}">` +
  fields.filter(([, v]) => v !== undefined).map(([k, v]) => `<${k}>${escapeXml(v!)}</${k}>`).join("") +
  `</jobInfo>`

// ---------------------------------------------------------------------------------------------
// record encoders
// ---------------------------------------------------------------------------------------------

const utf8 = new TextEncoder()

const jsonValue = (v: Csv.Value, row: number, field: string): unknown => {
  if (v === undefined || v === null) return v ?? null
  if (v instanceof Date) return v.toISOString()
  if (typeof v === "bigint") return v.toString()
  if (typeof v === "object") {
    throw new InvalidInputError({ what: "a nested object cannot be sent; give a scalar, Date or null", row, field })
  }
  if (typeof v === "number" && !Number.isFinite(v)) {
    throw new InvalidInputError({ what: `the number ${v} cannot be sent to Salesforce`, row, field })
  }
  return v
}

const xmlField = (name: string, v: Csv.Value, row: number): string => {
  if (!/^[A-Za-z][\w.]*$/.test(name)) {
    throw new InvalidInputError({ what: `"${name}" is not a valid field name`, row, field: name })
  }
  if (v === undefined) return ""
  if (v === null) return `<${name} xsi:nil="true"/>`
  const j = jsonValue(v, row, name)
  return `<${name}>${escapeXml(String(j))}</${name}>`
}

const check = (known: Set<string> | undefined, record: Csv.Row, row: number) => {
  if (known === undefined) return
  for (const key of Object.keys(record)) {
    if (!known.has(key)) {
      throw new InvalidInputError({
        what: `field "${key}" is not one of the declared columns (${[...known].join(", ")})`,
        row,
        field: key
      })
    }
  }
}

const encodeWith = <E, R>(
  records: Stream.Stream<Csv.Row, E, R>,
  head: string,
  tail: string,
  one: (record: Csv.Row, row: number, first: boolean) => string
): Stream.Stream<Uint8Array, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    let row = 0
    const body = Stream.mapChunksEffect(records, (chunk) =>
      Effect.try({
        try: () => {
          let out = row === 0 ? head : ""
          for (const r of chunk) {
            row++
            out += one(r, row, row === 1)
          }
          return out.length === 0 ? Chunk.empty<Uint8Array>() : Chunk.of(utf8.encode(out))
        },
        catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
      }))
    return Stream.concat(body, Stream.sync(() => utf8.encode(row === 0 ? head + tail : tail)))
  })

/** Encode records as a batch body for a job of the given content type. */
export const encodeRecords = <E, R>(
  contentType: string,
  records: Stream.Stream<Csv.Row, E, R>,
  columns: ReadonlyArray<string> | undefined
): Stream.Stream<Uint8Array, E | InvalidInputError, R> => {
  const known = columns === undefined ? undefined : new Set(columns)
  switch (contentType) {
    case "JSON":
      return encodeWith(records, "[", "]", (record, row, first) => {
        check(known, record, row)
        const o: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(record)) if (v !== undefined) o[k] = jsonValue(v, row, k)
        return (first ? "" : ",") + JSON.stringify(o)
      })
    case "XML":
      return encodeWith(
        records,
        `<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="${NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`,
        "</sObjects>",
        (record, row) => {
          check(known, record, row)
          let out = "<sObject>"
          for (const [k, v] of Object.entries(record)) out += xmlField(k, v, row)
          return out + "</sObject>"
        }
      )
    default:
      return Csv.encode(records, columns === undefined ? {} : { columns })
  }
}

export const mimeType = (contentType: string): string => {
  switch (contentType) {
    case "JSON":
      return "application/json"
    case "XML":
      return "application/xml"
    case "ZIP_CSV":
      return "zip/csv"
    case "ZIP_XML":
      return "zip/xml"
    case "ZIP_JSON":
      return "zip/json"
    default:
      return "text/csv"
  }
}

export const bodyOf = (contentType: string, data: string | Uint8Array | Stream.Stream<Uint8Array, unknown>) =>
  typeof data === "string"
    ? HttpBody.text(data, mimeType(contentType))
    : data instanceof Uint8Array
    ? HttpBody.uint8Array(data, mimeType(contentType))
    : HttpBody.stream(data, mimeType(contentType))

// ---------------------------------------------------------------------------------------------
// result parsers
// ---------------------------------------------------------------------------------------------

/** One error of one record. */
export interface RecordError {
  readonly statusCode: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

/** The outcome of one input record of an ingest batch. */
export interface BatchResult {
  readonly id: string | null
  readonly success: boolean
  readonly created: boolean
  readonly errors: ReadonlyArray<RecordError>
}

/** Parse the CSV `Error` text form `CODE:message:fields --`. */
export const parseErrorText = (text: string): ReadonlyArray<RecordError> => {
  const t = text.trim()
  if (t.length === 0) return []
  const body = t.endsWith("--") ? t.slice(0, -2).trimEnd() : t
  const first = body.indexOf(":")
  if (first < 0) return [{ statusCode: body, message: "", fields: [] }]
  const statusCode = body.slice(0, first)
  const rest = body.slice(first + 1)
  const last = rest.lastIndexOf(":")
  if (last < 0) return [{ statusCode, message: rest, fields: [] }]
  const tail = rest.slice(last + 1).trim()
  // the tail is a field list only when it looks like one (API names, commas)
  if (tail === "" || /^[A-Za-z][\w.]*(\s*,\s*[A-Za-z][\w.]*)*$/.test(tail)) {
    return [{
      statusCode,
      message: rest.slice(0, last),
      fields: tail === "" ? [] : tail.split(",").map((f) => f.trim())
    }]
  }
  return [{ statusCode, message: rest, fields: [] }]
}

const scanFailure = (e: unknown) =>
  e instanceof ScanError || (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "CsvParseFailure")
    ? new TransportError({
      description: `unreadable result: ${(e as { message: string }).message}`,
      method: "GET",
      url: "result",
      mayHaveReachedServer: true,
      unparseable: true
    })
    : e

const toBool = (v: unknown): boolean => v === true || v === "true"

const jsonErrors = (errors: unknown): ReadonlyArray<RecordError> =>
  Array.isArray(errors)
    ? errors.map((e: Record<string, unknown>) => ({
      statusCode: String(e.statusCode ?? ""),
      message: String(e.message ?? ""),
      fields: Array.isArray(e.fields) ? e.fields.map(String) : typeof e.fields === "string" ? [e.fields] : []
    }))
    : []

/** Stream the per-record results of an ingest batch, in the job's content type. */
export const parseBatchResults = <E, R>(
  contentType: string,
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<BatchResult, E | TransportError, R> => {
  switch (contentType) {
    case "JSON":
    case "ZIP_JSON":
      return jsonArrayElements(bytes).pipe(
        Stream.map((o) => {
          const r = o as Record<string, unknown>
          return {
            id: typeof r.id === "string" && r.id.length > 0 ? r.id : null,
            success: toBool(r.success),
            created: toBool(r.created),
            errors: jsonErrors(r.errors)
          }
        }),
        Stream.mapError(scanFailure)
      ) as Stream.Stream<BatchResult, E | TransportError, R>
    case "XML":
    case "ZIP_XML":
      return xmlElements(bytes, "result").pipe(Stream.map((inner) => {
        const nodes = parseFragment(inner)
        const get = (name: string) => nodes.find((n) => n.name === name)
        const id = get("id")
        return {
          id: id === undefined || isNil(id) || id.text.trim() === "" ? null : id.text.trim(),
          success: get("success")?.text.trim() === "true",
          created: get("created")?.text.trim() === "true",
          errors: nodes.filter((n) => n.name === "errors").map((e) => ({
            statusCode: e.children.find((c) => c.name === "statusCode")?.text.trim() ?? "",
            message: e.children.find((c) => c.name === "message")?.text ?? "",
            fields: e.children.filter((c) => c.name === "fields").map((c) => c.text.trim())
          }))
        }
      }))
    default:
      return Stream.suspend(() => {
        const reader = csvResultReader()
        let out: Array<BatchResult> = []
        const push = (r: BatchResult) => void out.push(r)
        const run = (chunk: Chunk.Chunk<Uint8Array> | undefined): Either.Either<Chunk.Chunk<BatchResult>, TransportError> => {
          out = []
          const failed = chunk === undefined ? reader.end(push) : reader.push(chunk, push)
          return failed === undefined ? Either.right(Chunk.unsafeFromArray(out)) : Either.left(failed)
        }
        return mapChunksOrFail(bytes, run, () => run(undefined))
      })
  }
}

/**
 * The synchronous core of reading a CSV result file (`Id,Success,Created,Error`): bytes pushed in,
 * each row's `BatchResult` handed to `onResult` as it completes; a malformed file gives back the
 * `TransportError` its download fails with (`undefined`: none). `parseBatchResults` runs it as one
 * stream stage; the 1.0 ingest runs it fused with its own per-row counting (`ingest1.ts`), so that a
 * result slice goes through no stream stage per step.
 */
export const csvResultReader = (): {
  readonly push: (bytes: Iterable<Uint8Array>, onResult: (r: BatchResult) => void) => TransportError | undefined
  readonly end: (onResult: (r: BatchResult) => void) => TransportError | undefined
} => {
  const reader = CsvReader.makeRecords({ delimiter: ",", bom: true })
  const guarded = (f: (onRecord: (r: Record<string, string>) => void) => void, onResult: (r: BatchResult) => void) => {
    try {
      f((r) =>
        onResult({
          id: r.Id !== undefined && r.Id.length > 0 ? r.Id : null,
          success: r.Success === "true",
          created: r.Created === "true",
          errors: parseErrorText(r.Error ?? "")
        })
      )
      return undefined
    } catch (e) {
      if (e instanceof CsvReader.CsvError) return scanFailure(new CsvParseFailure(e.message)) as TransportError
      throw e
    }
  }
  return {
    push: (bytes, onResult) =>
      guarded((onRecord) => {
        for (const piece of bytes) reader.push(piece, onRecord)
      }, onResult),
    end: (onResult) => guarded((onRecord) => reader.end(onRecord), onResult)
  }
}

/** A query result record. CSV values are strings; JSON keeps JSON types; XML gives strings/null. */
export type QueryRecord = Readonly<Record<string, unknown>>

const xmlRecord = (nodes: ReadonlyArray<XmlNode>, prefix: string, out: Record<string, unknown>) => {
  for (const n of nodes) {
    if (n.name === "type" && n.children.length === 0) continue // the sObject type, not a field
    const key = prefix + n.name
    if (key in out) continue // a selected Id appears twice
    if (isNil(n)) out[key] = null
    else if (n.children.length > 0) xmlRecord(n.children, `${key}.`, out)
    else out[key] = n.text
  }
}

const NO_RECORDS = "Records not found for this query"

/** Stream the records of one query result file, in the job's content type. */
export const parseQueryResult = <E, R>(
  contentType: string,
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<QueryRecord, E | TransportError, R> => {
  switch (contentType) {
    case "JSON":
    case "ZIP_JSON":
      return jsonArrayElements(bytes).pipe(
        Stream.map((o) => {
          const { attributes: _, ...rest } = o as Record<string, unknown>
          return rest
        }),
        Stream.mapError(scanFailure)
      ) as Stream.Stream<QueryRecord, E | TransportError, R>
    case "XML":
    case "ZIP_XML":
      return xmlElements(bytes, "records").pipe(Stream.map((inner) => {
        const out: Record<string, unknown> = {}
        xmlRecord(parseFragment(inner), "", out)
        return out
      }))
    default:
      return Stream.suspend(() => {
        // A query with no rows answers with one plain line instead of a CSV header.
        let first = true
        const guarded = Stream.mapChunks(bytes, (chunk) => {
          if (!first || chunk.length === 0) return chunk
          first = false
          const head = new TextDecoder().decode(Chunk.unsafeGet(chunk, 0).slice(0, NO_RECORDS.length + 2))
          return head.trim() === NO_RECORDS ? Chunk.empty() : chunk
        })
        return parseRecords(guarded, ",").pipe(Stream.mapError(scanFailure))
      }) as Stream.Stream<QueryRecord, E | TransportError, R>
  }
}

/** The path of a 1.0 batch's result (ingest results, or the list of a query batch's result files). */
export const batchResultPath = (apiVersion: string, jobId: string, batchId: string): string =>
  `${batchListPath(apiVersion, jobId)}/${batchId}/result`

/**
 * One attempt at a 1.0 batch's result file, read to its end in one effect (`readBody`), its bytes
 * handed to `onChunk` as they come (the HTTP client's chunks: to copy, not to keep or hand back).
 */
export const readBatchResult = (
  jobId: string,
  batchId: string,
  onChunk: (chunk: Uint8Array) => void
): Effect.Effect<void, BulkError, Transport> =>
  Effect.flatMap(TransportTag, (t) => {
    const req = { method: "GET" as const, path: batchResultPath(t.apiVersion, jobId, batchId), api: "1.0" as const, jobId, batchId }
    return Effect.flatMap(t.request(req), (response) => readBody(req, response, onChunk))
  })
