/**
 * Bulk API 2.0 queries for the high-level client: create, wait, stream the rows (page by page or
 * several pages at once), check the row count against Salesforce's, decode with a Schema.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Bulk2 from "../Bulk2.js"
import type * as BulkClient from "../BulkClient.js"
import { JobFailedError, ResultMismatchError, type BulkError } from "../BulkError.js"
import { mapChunksOrFail } from "./chunkStage.js"
import { rowDecoder } from "./decode.js"
import { adaptivePollSchedule, QUERY_POLL_BOUNDS } from "./poll.js"
import { tracker } from "./progress.js"
import type { Transport } from "./transport.js"

/**
 * Appends a row-count check to `rows`: fewer or more rows than `expected` is a
 * `ResultMismatchError` at the end of the stream.
 */
export const checkCount = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  jobId: string,
  expected: number | undefined,
  onRows?: (n: number) => void
): Stream.Stream<A, E | ResultMismatchError, R> =>
  Stream.suspend(() => {
    let got = 0
    const counted = Stream.mapChunks(rows, (c) => {
      got += c.length
      onRows?.(c.length)
      return c
    })
    return Stream.concat(
      counted,
      Stream.fromEffect(
        Effect.suspend(() =>
          expected === undefined || expected === got ? Effect.void : Effect.fail(new ResultMismatchError({ jobId, expected, got }))
        )
      ).pipe(Stream.drain)
    )
  })

/** Decodes rows with the Schema (row positions counted across the whole stream). */
export const decodeRows = <A, R>(
  rows: Stream.Stream<Readonly<Record<string, string>>, BulkError, R>,
  schema: Schema.Schema<A, any, never>,
  jobId?: string
): Stream.Stream<A, BulkError, R> =>
  Stream.suspend(() => {
    const decode = rowDecoder(schema, jobId)
    let index = 0
    // written straight to the channel (`mapChunksOrFail`): an effect per chunk holding the decoded
    // rows kept them reachable until a full GC, and V8 promoted every one of them
    return mapChunksOrFail(rows, (chunk): Either.Either<Chunk.Chunk<A>, BulkError> => {
      const out: Array<A> = []
      for (const r of chunk) {
        const d = decode(r as Record<string, string>, index++)
        if (Either.isLeft(d)) return Either.left(d.left)
        out.push(d.right)
      }
      return Either.right(Chunk.unsafeFromArray(out))
    }, () => Either.right(Chunk.empty()))
  })

/**
 * Rows asked for per result page when the caller sets no `maxRecords` and the query's columns
 * cannot be counted (or number 10 or more). Salesforce documents no default page size (the server
 * may still cut a page smaller by size); 50,000 is simple-salesforce's client default too. Every
 * page costs a request and its latency, so 10,000-row pages spent a quarter of a realistic org's
 * query time on page round trips (packages/bench, query-2.0).
 */
export const DEFAULT_PAGE_ROWS = 50_000

/** The most rows a default page holds, for queries of few columns (see {@link defaultPageRows}). */
export const MAX_DEFAULT_PAGE_ROWS = 100_000

/** Cells (rows x columns) a default page is sized for: 50,000 rows of 10 columns. */
const PAGE_CELLS = 500_000

/**
 * Columns of a SOQL query's SELECT list (commas outside parentheses, so `toLabel(Status)` or
 * `FORMAT(Amount)` count once), or undefined when the text does not read as `SELECT … FROM`.
 */
export const selectColumns = (soql: string): number | undefined => {
  const m = /^\s*select\s+([\s\S]+?)\s+from\s/i.exec(soql)
  if (!m) return undefined
  let depth = 0
  let columns = 1
  for (const c of m[1]!) {
    if (c === "(") depth++
    else if (c === ")") depth--
    else if (c === "," && depth === 0) columns++
  }
  return depth === 0 ? columns : undefined
}

/**
 * Rows per result page when the caller sets no `maxRecords`: about half a million cells, within
 * [50,000, 100,000] rows. A page's bytes and its time on the server follow its cells, not its
 * rows: a narrow query (5 columns or fewer) gets 100,000-row pages, half the requests and round
 * trips of 50,000 (the locator chain is sequential, a page's locator coming with the page before
 * it), for pages no larger than 50,000 rows of 10 columns; 10 columns or more keep 50,000.
 */
export const defaultPageRows = (soql: string): number => {
  const columns = selectColumns(soql)
  if (columns === undefined) return DEFAULT_PAGE_ROWS
  return Math.min(MAX_DEFAULT_PAGE_ROWS, Math.max(DEFAULT_PAGE_ROWS, Math.floor(PAGE_CELLS / columns)))
}

/** A 2.0 query as a stream of untyped rows. */
export const query2 = (
  soql: string,
  all: boolean,
  options: BulkClient.QueryOptions<any>
): Stream.Stream<BulkClient.QueryRow, BulkError, Transport> =>
  Stream.unwrap(Effect.gen(function*() {
    const progress = tracker(options.onProgress)
    const columnDelimiter = options.columnDelimiter ?? "COMMA"
    const job = yield* Bulk2.createQueryJob({
      query: soql,
      operation: all ? "queryAll" : "query",
      columnDelimiter,
      lineEnding: options.lineEnding
    })
    const info = yield* Bulk2.waitForQueryJob(job.id, {
      // no schedule given: a query reports no progress, so the adaptive schedule backs off within
      // a twentieth of the time waited, at least every 1 s (poll.ts): its end is seen soon after
      schedule: options.pollSchedule ?? adaptivePollSchedule(0, QUERY_POLL_BOUNDS),
      timeout: options.timeout,
      onPoll: (i) => progress.polled(job.id, i.state, { processed: Number(i.numberRecordsProcessed ?? 0), failed: 0 })
    })
    if (info.state !== "JobComplete") {
      return yield* new JobFailedError({ jobId: job.id, state: info.state, stateMessage: info.errorMessage ?? "" })
    }
    const concurrency = options.concurrency ?? 1
    const rows = concurrency > 1
      ? Bulk2.queryResultsParallel(job.id, { concurrency, columnDelimiter })
      : Bulk2.queryResults(job.id, { columnDelimiter, maxRecords: options.maxRecords ?? defaultPageRows(soql) })
    const expected = info.numberRecordsProcessed === undefined ? undefined : Number(info.numberRecordsProcessed)
    // No parsed rows are held ahead of the reader: rows kept waiting outlive V8's young-generation
    // collections and are promoted, which cost a third of the CPU and grew the heap with garbage.
    // The next page is asked for while this one is read instead (Bulk2.queryResults).
    return checkCount(rows, job.id, expected, progress.read).pipe(
      Stream.ensuring(Effect.sync(() => progress.done(job.id, "Downloaded")))
    )
  })).pipe(Stream.withSpan("BulkClient.query", { attributes: { "sfbulk.api": "2.0" } }))
