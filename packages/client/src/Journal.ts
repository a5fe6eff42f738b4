/**
 * The journal file of a resumable ingest (`IngestOptions.journal`): one JSON line per piece
 * uploaded (2.0: job created, then closed; 1.0: batch added), after a header naming the operation,
 * and a last line once the operation finished. Re-running the same operation with the same journal
 * resumes the jobs it lists and sends only the rows none of them holds; `read` tells what a journal
 * holds (for example the job ids to give `BulkClient.resume`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import { InvalidInputError } from "./BulkError.js"

/**
 * One piece recorded in a journal: its job (and 1.0 batch), how far it got, and the input
 * positions (0-based, `[start, end)`) it holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Piece {
  readonly stage: "created" | "uploaded"
  readonly jobId: string
  readonly batchId?: string | undefined
  readonly ranges: ReadonlyArray<readonly [number, number]>
  /** 1.0 "created": the SHA-256 (hex) of the batch body. */
  readonly sha256?: string | undefined
  /**
   * Set on the pieces of a lock follow-up round (`retryLockedRows`): its number, from 1. Their
   * `ranges` are then positions in the round's own list of re-submitted rows, not in the input.
   */
  readonly round?: number | undefined
}

/**
 * What a journal holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Journal {
  readonly object: string
  readonly operation: string
  readonly api: "1.0" | "2.0"
  readonly externalIdFieldName?: string | undefined
  /** The latest record of each piece of the first pass over the input, in the order they were first written. */
  readonly pieces: ReadonlyArray<Piece>
  /**
   * The pieces of the lock follow-up rounds (`retryLockedRows`), each with its `round`, in the
   * order they were first written. A resume finishes their jobs and merges their outcomes.
   */
  readonly followUps: ReadonlyArray<Piece>
  /** Rows each follow-up round set out to re-submit, by round (index 0: round 1). */
  readonly roundRows: ReadonlyArray<number>
  /** Distinct job ids (first pass, then follow-up rounds), in order. */
  readonly jobIds: ReadonlyArray<string>
  /** True once the operation finished (re-running it only reads the outcomes back). */
  readonly finished: boolean
  /** What the caller stored with `create` (the CLI keeps its command line and input there). */
  readonly meta?: unknown
}

/**
 * The operation a journal belongs to (its header line).
 *
 * @since 0.1.0
 * @category models
 */
export interface Operation {
  readonly object: string
  readonly operation: string
  readonly api: "1.0" | "2.0"
  readonly externalIdFieldName?: string | undefined
}

/**
 * Starts a journal at `path` (which must not exist yet) for `operation`, storing `meta` in its
 * header line for the caller to read back with `read`. The file is created readable by its owner
 * only. Passing the path as `IngestOptions.journal` then records the pieces of that operation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const create = (path: string, operation: Operation, meta?: unknown): Effect.Effect<void, InvalidInputError> =>
  Effect.try({
    try: () => {
      const head = { v: 1, ...operation, ...(meta === undefined ? {} : { meta }) }
      Fs.writeFileSync(path, JSON.stringify(head) + "\n", { mode: 0o600, flag: "wx" })
    },
    catch: (e) => new InvalidInputError({ what: `cannot create the journal ${path}: ${(e as Error).message}` })
  })

/**
 * The input positions (0-based, `[start, end)`) that no piece of the journal holds, up to `total`
 * (or, without it, up to the last position a piece holds): the rows never sent.
 *
 * @since 0.1.0
 * @category utils
 */
export const unsent = (journal: Journal, total?: number): ReadonlyArray<readonly [number, number]> => {
  const held = journal.pieces.flatMap((p) => p.ranges).slice().sort((a, b) => a[0] - b[0])
  const end = total ?? held.reduce((n, r) => Math.max(n, r[1]), 0)
  const out: Array<readonly [number, number]> = []
  let at = 0
  for (const [s, e] of held) {
    if (s > at) out.push([at, Math.min(s, end)])
    at = Math.max(at, e)
  }
  if (at < end) out.push([at, end])
  return out.filter(([s, e]) => e > s)
}

/**
 * Reads a journal file. A line cut short by a crash is skipped; a file that is not a journal is an
 * `InvalidInputError` naming it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const read = (path: string): Effect.Effect<Journal, InvalidInputError> =>
  Effect.suspend(() => {
    let text: string
    try {
      text = Fs.readFileSync(path, "utf8")
    } catch (e) {
      return Effect.fail(new InvalidInputError({ what: `cannot read the journal ${path}: ${(e as Error).message}` }))
    }
    const lines: Array<Record<string, unknown>> = []
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        // a line cut short by a kill
      }
    }
    const head = lines[0]
    if (head === undefined || head.v !== 1 || typeof head.object !== "string" || (head.api !== "1.0" && head.api !== "2.0")) {
      return Effect.fail(new InvalidInputError({ what: `${path} is not an sfbulk journal (no header line)` }))
    }
    const pieces = new Map<string, Piece>()
    const followUps = new Map<string, Piece>()
    const roundRows: Array<number> = []
    for (const l of lines.slice(1)) {
      if (typeof l.round === "number" && l.round > 0) {
        const first = (l.ranges as Array<[number, number]> | undefined)?.[0]?.[0]
        if (typeof l.jobId === "string") {
          if (l.batchId !== undefined) followUps.delete(`${l.round}/${l.jobId}/@${first}`)
          followUps.set(`${l.round}/${l.jobId}/${l.batchId ?? `@${first}`}`, { ranges: [], ...l } as unknown as Piece)
        } else if (typeof l.rows === "number") roundRows[l.round - 1] = l.rows
        continue
      }
      if (typeof l.jobId === "string" && Array.isArray(l.ranges)) {
        // a 1.0 batch is recorded "created" (before it is sent) under its first row, then "uploaded"
        const first = (l.ranges as Array<[number, number]>)[0]?.[0]
        if (l.batchId !== undefined) pieces.delete(`${l.jobId}/@${first}`)
        pieces.set(`${l.jobId}/${l.batchId ?? `@${first}`}`, l as unknown as Piece)
      }
    }
    const all = [...pieces.values()]
    const more = [...followUps.values()]
    return Effect.succeed({
      object: head.object,
      operation: String(head.operation),
      api: head.api,
      ...(typeof head.externalIdFieldName === "string" ? { externalIdFieldName: head.externalIdFieldName } : {}),
      pieces: all,
      followUps: more,
      roundRows: Array.from(roundRows, (n) => n ?? 0),
      jobIds: [...new Set([...all, ...more].map((p) => p.jobId))],
      finished: lines.some((l) => l.done === true),
      ...(head.meta !== undefined ? { meta: head.meta } : {})
    })
  })
