/**
 * Bulk API 2.0 wire details: JobInfo schemas, JSON/CSV response handling, polling.
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Zlib from "node:zlib"
import { PollTimeoutError, TransportError, type BulkError } from "../BulkError.js"
import { parseRecords, parseRows } from "./csvParse.js"
import { pollUntil } from "./poll.js"
import * as Poll from "./poll.js"
import { resumable } from "./resumable.js"
import { delimiterChar, type ColumnDelimiter } from "./rows.js"
import { bodyStream, inflateHeld, readBody, requestText, Transport, type TransportRequest } from "./transport.js"
import { freeNow, OwnedBytes } from "./ownedBytes.js"

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)

/** Fields shared by ingest and query JobInfo. */
export const JobInfo = Schema.Struct({
  id: Schema.String,
  operation: Schema.String,
  object: Schema.String,
  state: Schema.String,
  createdById: Schema.optional(Schema.String),
  createdDate: Schema.optional(Schema.String),
  systemModstamp: Schema.optional(Schema.String),
  concurrencyMode: Schema.optional(Schema.String),
  contentType: Schema.optional(Schema.String),
  apiVersion: Schema.optional(Num),
  jobType: Schema.optional(Schema.NullOr(Schema.String)),
  contentUrl: Schema.optional(Schema.NullOr(Schema.String)),
  lineEnding: Schema.optional(Schema.String),
  columnDelimiter: Schema.optional(Schema.String),
  externalIdFieldName: Schema.optional(Schema.NullOr(Schema.String)),
  assignmentRuleId: Schema.optional(Schema.NullOr(Schema.String)),
  numberRecordsProcessed: Schema.optional(Num),
  numberRecordsFailed: Schema.optional(Num),
  retries: Schema.optional(Num),
  totalProcessingTime: Schema.optional(Num),
  apiActiveProcessingTime: Schema.optional(Num),
  apexProcessingTime: Schema.optional(Num),
  errorMessage: Schema.optional(Schema.NullOr(Schema.String)),
  isPkChunkingSupported: Schema.optional(Schema.Boolean)
})

/** A decoded JobInfo. */
export type JobInfo = typeof JobInfo.Type

/** The job list envelope. */
export const JobList = Schema.Struct({
  done: Schema.Boolean,
  records: Schema.Array(JobInfo),
  nextRecordsUrl: Schema.optional(Schema.NullOr(Schema.String))
})

/** The `/resultPages` envelope. */
export const ResultPages = Schema.Struct({
  resultPages: Schema.Array(Schema.Struct({ resultUrl: Schema.String })),
  nextRecordsUrl: Schema.optional(Schema.NullOr(Schema.String)),
  done: Schema.optional(Schema.Boolean)
})

const describe = (req: TransportRequest) => ({
  method: req.method,
  url: req.path,
  ...(req.jobId === undefined ? {} : { jobId: req.jobId })
})

/** A body that could not be read or did not have the expected shape. */
export const unreadable = (req: TransportRequest, what: string, unparseable?: true) =>
  new TransportError({ ...describe(req), description: what, mayHaveReachedServer: true, ...(unparseable ? { unparseable } : {}) })

/** Sends `req` and decodes its JSON answer with `schema`. */
export const requestJson = <A, I>(req: TransportRequest, schema: Schema.Schema<A, I>) =>
  // requestText sends an idempotent request again when its answer is cut off mid-body
  Effect.flatMap(Transport, (t) => requestText(t, req)).pipe(
    Effect.flatMap(({ text }) =>
      Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: (e) => unreadable(req, `cannot read the JSON answer: ${e instanceof Error ? e.message : String(e)}`)
      })
    ),
    Effect.flatMap((body) =>
      Effect.mapError(
        Schema.decodeUnknown(schema)(body),
        (e) => unreadable(req, `unexpected answer: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)
      )
    )
  )

/** Sends `req`, ignoring the answer body. */
export const requestVoid = (req: TransportRequest) =>
  Effect.flatMap(Transport, (t) => t.request(req)).pipe(
    Effect.flatMap((res) => Effect.ignore(res.text)),
    Effect.asVoid
  )

/** A CSV answer that cannot be parsed (not worth fetching again), or one cut off mid-body. */
const csvFailure = (req: TransportRequest) => (e: { readonly _tag: string; readonly message: string }) =>
  e._tag === "CsvParseFailure"
    ? unreadable(req, `the CSV answer cannot be parsed: ${e.message}`, true)
    : unreadable(req, `the answer was cut off: ${e.message}`)

/** The answer body as a stream of parsed CSV records. */
export const csvRecords = (req: TransportRequest, res: HttpClientResponse.HttpClientResponse, delimiter: string) =>
  csvRecordsOf(req, bodyStream(res), delimiter)

/** Bytes of `req`'s answer (already received, or its body) as a stream of parsed CSV records. */
export const csvRecordsOf = <E extends { readonly _tag: string; readonly message: string }>(
  req: TransportRequest,
  bytes: Stream.Stream<Uint8Array, E>,
  delimiter: string
) => parseRecords(bytes, delimiter).pipe(Stream.mapError(csvFailure(req)))

/**
 * A page's answer body, whole, as it came over the wire (gzip when the server compressed it), in
 * a buffer of its own (`OwnedBytes`): the socket's reads are copied as they come and die young,
 * and the held page is one buffer that `heldRecords` hands back the moment it is inflated. Read
 * by the transport's `readBody` (one effect per download, no step per chunk), whose errors are
 * the transport's for a body cut off or stalled.
 */
export const heldBody = (req: TransportRequest, res: HttpClientResponse.HttpClientResponse): Effect.Effect<Uint8Array, BulkError> =>
  Effect.suspend(() => {
    const declared = Number(res.headers["content-length"])
    const bytes = new OwnedBytes(Number.isSafeInteger(declared) && declared > 0 && declared <= HELD_INFLATE_MAX ? declared : 64 * 1024)
    return readBody(req, res, (piece) => bytes.push(piece)).pipe(
      Effect.map(() => bytes.take()),
      Effect.onError(() => Effect.sync(() => bytes.free()))
    )
  })

/** A held page body that does not inflate, as a body cut off (`csvRecordsOf` then fetches it again). */
const inflateFailure = (e: unknown) => ({ _tag: "InflateFailure", message: e instanceof Error ? e.message : String(e) }) as const

/**
 * The most bytes a held page is inflated to at once (one buffer); a page larger once inflated
 * (by its gzip trailer, or found so) is inflated piece by piece on the thread pool.
 */
const HELD_INFLATE_MAX = 16 * 1024 * 1024

/** Bytes of a held page handed to the parser at a time (the inflater's chunk of a body read as it comes). */
const HELD_PIECE = 16 * 1024

const isGzip = (b: Uint8Array) => b.length >= 18 && b[0] === 0x1f && b[1] === 0x8b

/** A gzip's size once inflated, from its trailer (ISIZE: modulo 2^32, of its last member). */
const gzipSize = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(b.length - 4, true)

/**
 * The records of a held page (`heldBody`), parsed 16 KB at a time. A gzip page is inflated at
 * once on this thread, with no stream, promise or Effect per chunk (those kept each inflated
 * chunk alive across young-generation GCs: promoted, its memory waited for a full GC), and both
 * its buffers are handed back (`freeNow`) as soon as each is used: the held bytes once inflated,
 * the text once parsed (or the reader stopped). A page too large for that is inflated as it is
 * read (`inflateHeld`). A gzip that does not inflate (cut short) fails as a body cut off does.
 */
export const heldRecords = (req: TransportRequest, held: Uint8Array, delimiter: string) =>
  Stream.suspend(() => {
    if (!isGzip(held)) return pieceRecords(req, held, delimiter)
    // handed back only once read to its end: on an early stop or a failure the inflater may still
    // be reading it on the thread pool (its write outlives `destroy`), so it is left to the GC
    const streamed = () =>
      Stream.concat(
        csvRecordsOf(req, inflateHeld(Chunk.of(held), inflateFailure), delimiter),
        Stream.execute(Effect.sync(() => freeNow(held)))
      )
    if (gzipSize(held) > HELD_INFLATE_MAX) return streamed()
    let text: Buffer
    try {
      text = Zlib.gunzipSync(held, { maxOutputLength: HELD_INFLATE_MAX })
    } catch (e) {
      // more than the trailer said (a gzip of several members): inflated as it is read instead
      if ((e as { readonly code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") return streamed()
      freeNow(held)
      return csvRecordsOf(req, Stream.fail(inflateFailure(e)), delimiter)
    }
    freeNow(held)
    return pieceRecords(req, new Uint8Array(text.buffer, text.byteOffset, text.byteLength), delimiter)
  })

/** Waits for a turn of Node's event loop (its I/O polled), not just a microtask. */
const ioTurn = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

/**
 * Records of `text` fed to the parser a piece at a time (a chunk of rows per piece), the text
 * handed back at the end. One piece per stream chunk: a page's rows parsed into one chunk stayed
 * alive (and were promoted) for the whole of its reading. The event loop gets a turn before each
 * page: parsing from memory never waits for I/O, and without it the downloads' sockets can go
 * unread and their next requests unsent for as long as Effect runs the parse (5M rows on loopback,
 * without it: 12-16 s of wall time against 10-13 s for the inflate on the thread pool, on a shared
 * machine).
 */
const pieceRecords = (req: TransportRequest, text: Uint8Array, delimiter: string) => {
  function* pieces() {
    for (let at = 0; at < text.length; at += HELD_PIECE) yield text.subarray(at, Math.min(text.length, at + HELD_PIECE))
  }
  // (a turn every 256 KB instead, through a stream per 256 KB, promoted ~25% more at 5M rows)
  const src = Stream.concat(Stream.drain(Stream.fromEffect(ioTurn)), Stream.fromIteratorSucceed(pieces(), 1))
  return csvRecordsOf(req, src, delimiter).pipe(
    Stream.ensuring(Effect.sync(() => freeNow(text)))
  )
}

/**
 * A 2.0 ingest job's result file as values built straight from each row's fields (`parseRows`: no
 * record per row), with `Bulk2.successfulResults`' request, errors and resumption after a dropped
 * download. `delimiter` is the job's column delimiter character.
 */
export const ingestResultRows = <A>(
  jobId: string,
  resource: "successfulResults" | "failedResults" | "unprocessedrecords",
  delimiter: string,
  make: (header: ReadonlyArray<string>) => (fields: Array<string>) => A
): Stream.Stream<A, BulkError, Transport> =>
  Stream.unwrap(Effect.map(Transport, (t) => {
    const req = {
      method: "GET",
      path: `/services/data/v${t.apiVersion}/jobs/ingest/${jobId}/${resource}`,
      api: "2.0",
      headers: { accept: "text/csv" },
      jobId
    } as const
    return resumable(() =>
      Stream.unwrap(Effect.map(t.request(req), (res) => Stream.mapError(parseRows(bodyStream(res), delimiter, make), csvFailure(req))))
    )
  })).pipe(Stream.withSpan(`Bulk2.${resource}`, { attributes: { "sfbulk.job_id": jobId } }))

/** Delimiter character for a job's `columnDelimiter` (COMMA when unknown). */
export const delimiterOf = (name: string | undefined): string => delimiterChar[(name ?? "COMMA") as ColumnDelimiter] ?? ","

/** Splits an absolute path with a query string into transport path + params. */
export const splitUrl = (url: string): { path: string; urlParams: Record<string, string> } => {
  const u = new URL(url, "http://x")
  const urlParams: Record<string, string> = {}
  u.searchParams.forEach((v, k) => (urlParams[k] = v))
  return { path: u.pathname, urlParams }
}

/** Default polling: the one of every wait (0.5 s growing by 1.5x up to every 5 s). */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Poll.defaultPollSchedule

/** Terminal states of 2.0 jobs. */
export const isTerminal = (state: string) => state === "JobComplete" || state === "Failed" || state === "Aborted"

/** Options for waiting on a job. */
export interface WaitOptions {
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly onPoll?: ((info: JobInfo) => void) | undefined
}

/**
 * Polls `get` until a terminal state. Ends with `PollTimeoutError` (job left running) when the
 * schedule is exhausted or `timeout` passes.
 */
export const waitFor = (
  jobId: string,
  get: Effect.Effect<JobInfo, BulkError, Transport>,
  options: WaitOptions | undefined
): Effect.Effect<JobInfo, BulkError, Transport> =>
  Effect.suspend(() => {
    // the schedule is fed the last answer (its numberRecordsProcessed), so an adaptive schedule
    // follows the job's progress (without it every wait was a blind back-off)
    let last: JobInfo | undefined
    return pollUntil(
      Effect.map(get.pipe(Effect.withSpan("Bulk2.poll", { attributes: { "sfbulk.job_id": jobId } })), (info) => {
        last = info
        options?.onPoll?.(info)
        return isTerminal(info.state) ? Option.some(info) : Option.none()
      }),
      options,
      (timeoutMillis) => new PollTimeoutError({ jobId, ...(timeoutMillis === undefined ? {} : { timeoutMillis }) }),
      () => last
    )
  }).pipe(Effect.withSpan("Bulk2.wait", { attributes: { "sfbulk.job_id": jobId } }))
