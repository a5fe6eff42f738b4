/**
 * Cutting a stream of CSV line blocks (the lines of one input chunk in one buffer) into pieces (1.0 batches, 2.0 jobs) within Salesforce's limits as
 * the lines flow. A `PieceWriter` decides where a piece lives while it is being filled: in a temp
 * file (the default: every piece is spooled before the first upload; 2.0 jobs also to retry an
 * upload) or in memory (1.0 batches with `allowPartialUpload`, at most 10 MB); the splitter never
 * holds more than the lines of one input chunk. A piece boundary may fall inside a block: the
 * block's head goes to the piece being closed, its tail starts the next.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as FsSync from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Os from "node:os"
import { InvalidInputError } from "../BulkError.js"
import { mapChunksSync } from "./chunkStage.js"
import type { LineBlock } from "./rows.js"

/** Limits of one piece, counting the header row in `maxBytes`. */
export interface Limits {
  readonly maxBytes: number
  readonly maxRecords: number
}

/**
 * Where a piece is written while it fills. Synchronous, failures thrown as `E`: the splitter cuts
 * a whole chunk of blocks in one plain call. An effect per block (a generator suspended on each
 * write) keeps the chunk reachable from the effect runtime long enough that V8 promotes the
 * input rows of that chunk to the old generation: measured on a million rows after an async
 * step, 99 MB promoted that way, 10 MB this way, so the old generation stays near its live size.
 */
export interface PieceWriter<P, E> {
  readonly open: (index: number, firstRow: number) => void
  /** Appends whole lines (a slice of a block, not copied: the writer must not change it). */
  readonly write: (lines: Uint8Array) => void
  readonly close: (records: number, bytes: number) => P
  /** Frees what an unfinished piece holds (the stream failed or was interrupted). */
  readonly release?: (() => void) | undefined
  /** Is `e`, thrown by one of the functions above, this writer's own failure? */
  readonly isFailure: (e: unknown) => e is E
}

/** Blocks (`ROWS_PER_CHUNK` rows each) cut between two turns of the event loop: some 10-20 ms. */
const BLOCKS_PER_TURN = 64

/** One turn of the event loop (`setImmediate`: after pending I/O callbacks, before timers due later). */
const loopTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const t = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(t))
})

/**
 * Splits `blocks` (the CSV lines of each input chunk) into pieces. A piece is closed as soon as the
 * next line would break a limit; a single row larger than `maxBytes` is an `InvalidInputError`
 * naming the row.
 */
export const split = <P, E1, E2, R>(
  blocks: Stream.Stream<LineBlock, E1, R>,
  headerBytes: () => number,
  limits: Limits,
  makeWriter: () => PieceWriter<P, E2>
): Stream.Stream<P, E1 | E2 | InvalidInputError, R> =>
  Stream.suspend(() => {
    const writer = makeWriter()
    let isOpen = false
    let index = 0
    let row = 0
    let records = 0
    let bytes = 0
    const cut = (chunk: Chunk.Chunk<LineBlock>): Array<P> => {
      const out: Array<P> = []
      for (const { bytes: data, ends } of chunk) {
        if (ends.length === 0) continue
        const header = headerBytes()
        // start of the block's bytes not yet written, start of the current line
        let from = 0
        let start = 0
        for (let i = 0; i < ends.length; i++) {
          const end = ends[i]!
          const length = end - start
          if (header + length > limits.maxBytes) {
            throw new InvalidInputError({
              what: `the row is ${length} bytes as CSV, more than a piece may hold (${limits.maxBytes} bytes with the header)`,
              row
            })
          }
          if (isOpen && (records + 1 > limits.maxRecords || bytes + length > limits.maxBytes)) {
            if (start > from) writer.write(data.subarray(from, start))
            from = start
            out.push(writer.close(records, bytes))
            isOpen = false
          }
          if (!isOpen) {
            writer.open(index++, row)
            isOpen = true
            records = 0
            bytes = header
          }
          records++
          bytes += length
          row++
          start = end
        }
        if (start > from) writer.write(data.subarray(from, start))
      }
      return out
    }
    // thrown: the splitter's own InvalidInputError or the writer's failure; anything else is a defect
    const isFailure = (e: unknown): e is E2 | InvalidInputError => e instanceof InvalidInputError || writer.isFailure(e)
    const attempt = <X>(f: () => X): Effect.Effect<X, E2 | InvalidInputError> => {
      try {
        return Effect.succeed(f())
      } catch (e) {
        return isFailure(e) ? Effect.fail(e) : Effect.die(e)
      }
    }
    // The cut is synchronous, file writes included (`mapChunksSync`, see `PieceWriter`). Every so
    // many blocks the event loop gets a turn (timers, signals, other jobs' sockets): an effect on
    // the stream of pieces, whose chunks are small and mostly empty.
    let sinceTurn = 0
    const body = Stream.mapChunksEffect(
      mapChunksSync(blocks, (chunk) => {
        sinceTurn += chunk.length
        return Chunk.unsafeFromArray(cut(chunk))
      }, isFailure),
      (pieces) => {
        if (sinceTurn < BLOCKS_PER_TURN) return Effect.succeed(pieces)
        sinceTurn = 0
        return Effect.as(loopTurn, pieces)
      }
    )
    return Stream.concat(
      body,
      Stream.suspend(() => (isOpen ? Stream.fromEffect(attempt(() => writer.close(records, bytes))) : Stream.empty))
    ).pipe(Stream.ensuring(Effect.sync(() => writer.release?.())))
  })

/** A piece held in memory (1.0 batch). */
export interface MemoryPiece {
  readonly index: number
  readonly firstRow: number
  readonly records: number
  readonly bytes: number
  readonly body: Uint8Array
}

/** Collects each piece in memory: header + lines as one buffer. */
export const memoryWriter = (header: () => Uint8Array) => (): PieceWriter<MemoryPiece, never> => {
  let parts: Array<Uint8Array> = []
  let index = 0
  let firstRow = 0
  return {
    open: (i, first) => {
      parts = [header()]
      index = i
      firstRow = first
    },
    write: (lines) => void parts.push(lines),
    close: (records, bytes) => {
      const body = Buffer.concat(parts, bytes)
      parts = []
      return { index, firstRow, records, bytes, body }
    },
    isFailure: (_e): _e is never => false
  }
}

/** A piece spooled to a temp file (2.0 job). Delete the file once uploaded. */
export interface FilePiece {
  readonly index: number
  readonly firstRow: number
  readonly records: number
  readonly bytes: number
  readonly path: string
}

/**
 * Makes a private temp directory (0700) now, synchronously (a `mkdtemp` takes microseconds): for
 * `tempDir`, and for a synchronous stage that needs one only once its input turns out to be large
 * (`lazyTempDir`).
 */
const makeTempDir = (): string => {
  try {
    const dir = FsSync.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-"))
    // mkdtemp already creates 0700; said again so a platform default cannot widen it
    FsSync.chmodSync(dir, 0o700)
    return dir
  } catch (e) {
    throw new InvalidInputError({
      what: `cannot create a temp directory in ${Os.tmpdir()} (spool files of uploads, and of orderByParent's sort): ${String(e)}. ` +
        "Point TMPDIR at a writable directory with room for about the input's size"
    })
  }
}

const removeDir = (dir: string) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))

/**
 * A scoped temp directory for spool files, removed with everything in it when the scope closes
 * (success, failure or interruption: the CLI turns SIGINT and SIGTERM into an interruption so
 * this runs). The spool holds customer data: the directory is 0700 and its files 0600.
 */
export const tempDir: Effect.Effect<string, InvalidInputError, Scope.Scope> = Effect.acquireRelease(
  Effect.try({ try: makeTempDir, catch: (e) => e as InvalidInputError }),
  removeDir
)

/**
 * `tempDir` made on the first call of the function returned (synchronous: it throws the
 * `InvalidInputError`), the same directory on every later call, and removed when the scope closes
 * if it was made: for a synchronous stage that writes to disk only once its input outgrows memory.
 */
export const lazyTempDir: Effect.Effect<() => string, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => ({ dir: undefined as string | undefined })),
    (made) => (made.dir === undefined ? Effect.void : removeDir(made.dir))
  ),
  (made) => () => (made.dir ??= makeTempDir())
)

/** Spool files hold customer data: readable by their owner only. */
export const SPOOL_MODE = 0o600

/**
 * Writes each piece to `<dir>/piece-<index>.csv`, header first. The writes are synchronous (see
 * `PieceWriter`): a block of about a thousand lines lands in the page cache in tens of
 * microseconds.
 */
export const fileWriter = (dir: string, header: () => Uint8Array) => (): PieceWriter<FilePiece, InvalidInputError> => {
  let fd: number | undefined
  let index = 0
  let firstRow = 0
  let path = ""
  const guarded = <X>(f: () => X): X => {
    try {
      return f()
    } catch (e) {
      throw new InvalidInputError({ what: `cannot write the spool file ${path}: ${String(e)}` })
    }
  }
  const writeAll = (data: Uint8Array) => {
    let done = 0
    while (done < data.length) done += FsSync.writeSync(fd!, data, done, data.length - done)
  }
  const release = () => {
    const f = fd
    fd = undefined
    if (f !== undefined) {
      try {
        FsSync.closeSync(f)
      } catch {
        // the temp dir's removal deletes the file
      }
    }
  }
  return {
    open: (i, first) =>
      guarded(() => {
        index = i
        firstRow = first
        path = Path.join(dir, `piece-${i}.csv`)
        fd = FsSync.openSync(path, "w", SPOOL_MODE)
        writeAll(header())
      }),
    write: (lines) => guarded(() => writeAll(lines)),
    close: (records, bytes) =>
      guarded(() => {
        const f = fd
        fd = undefined
        if (f !== undefined) FsSync.closeSync(f)
        return { index, firstRow, records, bytes, path }
      }),
    release,
    isFailure: (e): e is InvalidInputError => e instanceof InvalidInputError
  }
}

/**
 * Writes a byte stream to `<dir>/<name>` as it flows (constant memory) and returns the file's path
 * and size; the stream's own failure (a check failing part way) ends it, the partial file left for
 * the temp dir's cleanup.
 */
export const spoolToFile = <E, R>(
  data: Stream.Stream<Uint8Array, E, R>,
  dir: string,
  name: string
): Effect.Effect<{ readonly path: string; readonly size: number }, E | InvalidInputError, R> =>
  Effect.gen(function*() {
    const path = Path.join(dir, name)
    const fail = (e: unknown) => new InvalidInputError({ what: `cannot write the spool file ${path}: ${String(e)}` })
    const handle = yield* Effect.tryPromise({ try: () => Fs.open(path, "w", SPOOL_MODE), catch: fail })
    let size = 0
    yield* Stream.runForEachChunk(data, (chunk) =>
      Effect.tryPromise({
        try: async () => {
          const parts = Chunk.toReadonlyArray(chunk) as Array<Uint8Array>
          if (parts.length === 0) return
          const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
          size += buf.length
          await handle.write(buf)
        },
        catch: fail
      })).pipe(Effect.ensuring(Effect.promise(() => handle.close().catch(() => undefined))))
    return { path, size }
  })
