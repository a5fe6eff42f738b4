/**
 * A stable sort of a row stream by a string key in bounded memory (`orderByParent`): rows are
 * serialized as they are read into a run of at most `runBytes` (one buffer, reused from run to
 * run, and the records' offsets in a typed array: no JavaScript object per row outlives its
 * chunk); each full run is sorted (keys compared as stored, `compareKeys`) and written to a file
 * of a private temp directory (split.ts `lazyTempDir`: 0700, files 0600, removed when the stream
 * ends, fails or is interrupted); the runs are then merged k ways. An input that fits in one
 * run never touches the disk. Ties keep input order: within a run by the record index, across runs
 * by taking the earlier run first (runs are cut in input order). More runs than `fanIn` (a very
 * large input: each open run holds a file descriptor, and a process may have as few as 1,024) are
 * first merged in passes, `fanIn` consecutive runs into one, so input order across runs survives.
 *
 * Records of strings, numbers, booleans, nulls, Dates, undefined and nested ordinary objects of those
 * (CSV rows; typed rows: relationship structs, a Schema's Option and DateTime values) are stored as
 * JSON text, the Dates, undefined values and prototypes marked and given back when read
 * (`jsonText`); any other row goes through `v8.serialize` (arrays, Maps and the like survive as
 * they are; of the prototypes, only the row's own comes back).
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as V8 from "node:v8"
import { InvalidInputError } from "../BulkError.js"
import { mapChunksOrFail } from "./chunkStage.js"
import { lazyTempDir, SPOOL_MODE } from "./split.js"

/** Bounds of one run held in memory. */
export interface SortLimits {
  /** Serialized bytes of one run (default 8 MiB). */
  readonly runBytes?: number | undefined
  /** Rows of one run (default 100,000: bounds the per-row overhead of small rows). */
  readonly runRows?: number | undefined
  /** Runs merged at once, each an open file (default 128); more are merged in passes first. */
  readonly fanIn?: number | undefined
}

const RUN_BYTES = 8 * 1024 * 1024
const RUN_ROWS = 100_000
/** Bytes read from a run file at a time during the merge. */
const READ_BYTES = 64 * 1024
/** Rows merged per pull of the output stream. */
const OUT_ROWS = 1_024
const FAN_IN = 128
/** Bytes buffered before a write while merging runs into one. */
const WRITE_BYTES = 1024 * 1024

/**
 * A lead byte's weight in `compareKeys`: UTF-8 byte order is code point order, which differs from
 * JavaScript's string order (UTF-16 code units) only between U+E000-U+FFFF (lead bytes 0xEE, 0xEF)
 * and the characters past U+FFFF (0xF0-0xF4; surrogate pairs, 0xD800-0xDFFF, in a string): those
 * two lead bytes weigh past 0xF4. (Continuation bytes, 0x80-0xBF, keep theirs.)
 */
const weight = (b: number): number => (b === 0xEE || b === 0xEF ? b + 0x10 : b)

/**
 * Compares two keys stored as UTF-8, `a[aStart, aEnd)` and `b[bStart, bEnd)`, in JavaScript's
 * string order (the order of `<` on the strings they encode; a lone surrogate is stored as U+FFFD, as
 * the CSV sent to Salesforce carries it, and sorts as that), without decoding them: a sort keeps
 * no string per row (100,000 key strings per run, each living as long as its run, were promoted to
 * V8's old generation and grew the heap by some 40 MB over a million rows). Two keys first differ
 * at the same character boundary (their common prefix is whole characters), so the bytes there
 * are both lead bytes, or both continuation bytes of characters of one length.
 */
export const compareKeys = (a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number => {
  const la = aEnd - aStart
  const lb = bEnd - bStart
  const n = la < lb ? la : lb
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i]!
    const y = b[bStart + i]!
    if (x !== y) return weight(x) - weight(y)
  }
  return la - lb
}

/**
 * A record's form byte: bit 7 set, its row is JSON text (bit 6: marked, `jsonText`); else
 * `v8.serialize` output. The low bits (`PROTO`) of an unmarked row are its prototype: 0 a plain
 * object (or value), n the n-th prototype seen (`protos[n - 1]`).
 */
const JSON_ROW = 0x80
const MARKED = 0x40
const PROTO = 0x3F

/** How deep `plainCopy` follows nested objects (relationship structs, a Schema's Option of a DateTime). */
const MAX_DEPTH = 8

const isText = (v: unknown): boolean => {
  const t = typeof v
  return t === "string" || t === "boolean" || v === null || (t === "number" && Number.isFinite(v))
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** An object JSON text can hold as its own enumerable properties: not an array, a Map, a Date… (no internal slots). */
const isOrdinary = (o: object): boolean => !Array.isArray(o) && Object.prototype.toString.call(o) === "[object Object]"

/** The index (from 1) of a prototype among those seen (`protos`), added when new. */
type ProtoIndex = (p: object) => number

/** A row's prototype as a number: 0 for a plain object (or null prototype, an array, a primitive), else its `ProtoIndex`. */
const protoNumber = (row: unknown, protoIndex: ProtoIndex): number => {
  if (row === null || typeof row !== "object" || Array.isArray(row)) return 0
  const p = Object.getPrototypeOf(row) as object | null
  return p === null || p === Object.prototype ? 0 : protoIndex(p)
}

/**
 * A plain copy of `obj`'s own enumerable properties that JSON text holds exactly, or undefined
 * when one cannot be: text, finite numbers, booleans and nulls as they are; a valid Date as its
 * time and undefined as null, each marked (`"d"`, `"u"` and its path); a nested ordinary object
 * (a relationship struct; a Schema's `Option`, `DateTime`) copied the same way, and marked
 * (`"p<n>"`) when its prototype is not `Object.prototype`, after its own marks. No `toJSON` is
 * called: the copy is what a CSV encoder reads of the object, its own properties.
 */
const plainCopy = (
  obj: object,
  path: Array<string>,
  marks: Array<Array<string>>,
  depth: number,
  protoIndex: ProtoIndex
): Record<string, unknown> | undefined => {
  const out: Record<string, unknown> = {}
  for (const k in obj) {
    // (an inherited property is not stored, as by v8.serialize: an instance gets it back from its prototype)
    if (!hasOwn(obj, k)) continue
    // (`out.__proto__ = v` would set the copy's prototype, not a property)
    if (k === "__proto__") return undefined
    const v = (obj as Record<string, unknown>)[k]
    if (isText(v)) {
      out[k] = v
      continue
    }
    if (v === undefined) {
      marks.push(["u", ...path, k])
      out[k] = null
      continue
    }
    if (v === null || typeof v !== "object") return undefined
    const p = Object.getPrototypeOf(v) as object | null
    if (p === Date.prototype && Object.prototype.toString.call(v) === "[object Date]") {
      const time = Date.prototype.getTime.call(v)
      if (Number.isNaN(time)) return undefined
      marks.push(["d", ...path, k])
      out[k] = time
      continue
    }
    if (depth >= MAX_DEPTH || !isOrdinary(v)) return undefined
    path.push(k)
    const copy = plainCopy(v, path, marks, depth + 1, protoIndex)
    if (copy !== undefined && p !== Object.prototype && p !== null) marks.push([`p${protoIndex(p)}`, ...path])
    path.pop()
    if (copy === undefined) return undefined
    out[k] = copy
  }
  return out
}

/**
 * A row as JSON text, which reads and writes several times faster than `v8.serialize` and leaves
 * no Buffer per row to the allocator (1,000,000 rows each holding a Date, through V8, left some
 * 120 MB more resident). A record of text, finite numbers, booleans and nulls (CSV rows, the usual
 * input) as is, its prototype in the form byte; any other ordinary record as `[marks, copy]`
 * (`plainCopy`: typed rows with Dates, undefined values, relationship structs, a Schema's Option
 * and DateTime values), its own prototype the last mark (`"p<n>"`, empty path). Undefined when it
 * cannot be (`v8.serialize` then).
 */
const jsonText = (row: unknown, protoIndex: ProtoIndex): { readonly text: string; readonly form: number } | undefined => {
  if (row === null || typeof row !== "object" || !isOrdinary(row)) return undefined
  // (JSON.stringify would call a toJSON: the copy below does not)
  let flat = typeof (row as { readonly toJSON?: unknown }).toJSON !== "function"
  if (flat) {
    for (const k in row) {
      if (!isText((row as Record<string, unknown>)[k])) {
        flat = false
        break
      }
    }
  }
  if (flat) {
    const n = protoNumber(row, protoIndex)
    if (n <= PROTO) return { text: JSON.stringify(row), form: JSON_ROW | n }
  }
  const marks: Array<Array<string>> = []
  const copy = plainCopy(row, [], marks, 0, protoIndex)
  if (copy === undefined) return undefined
  const n = protoNumber(row, protoIndex)
  if (n !== 0) marks.push([`p${n}`])
  return { text: JSON.stringify([marks, copy]), form: JSON_ROW | MARKED }
}

/**
 * A row read back from `buf[start, end)` (its form byte `form`): JSON text, its marked values and
 * prototypes given back in place (the row keeps its properties' order), or `v8.serialize` output
 * and its prototype. Offsets rather than a slice: a JSON row is decoded straight from the block it
 * was read into (no Buffer object per row).
 */
const revive = (form: number, buf: Buffer, start: number, end: number, protos: ReadonlyArray<object>): unknown => {
  if ((form & MARKED) !== 0) {
    const [marks, row] = JSON.parse(buf.toString("utf8", start, end)) as [ReadonlyArray<ReadonlyArray<string>>, Record<string, unknown>]
    for (const m of marks) {
      const kind = m[0]!
      if (kind.startsWith("p")) {
        let o = row
        for (let i = 1; i < m.length; i++) o = o[m[i]!] as Record<string, unknown>
        Object.setPrototypeOf(o, protos[Number(kind.slice(1)) - 1]!)
      } else {
        let holder = row
        for (let i = 1; i < m.length - 1; i++) holder = holder[m[i]!] as Record<string, unknown>
        const k = m[m.length - 1]!
        holder[k] = kind === "d" ? new Date(holder[k] as number) : undefined
      }
    }
    return row
  }
  const row = (form & JSON_ROW) !== 0 ? JSON.parse(buf.toString("utf8", start, end)) : V8.deserialize(buf.subarray(start, end))
  const proto = form & PROTO
  return proto === 0 ? row : Object.setPrototypeOf(row, protos[proto - 1]!)
}

/** A record is stored as `[u32 key bytes][key][u8 form][u32 row bytes][row]`. */
/**
 * A row's stored form: its JSON text (`jsonText`), or else its `v8.serialize` output (its
 * prototype in the form byte, for the first 63 prototypes; past them a plain object); and its
 * form byte.
 */
const bodyOf = (row: unknown, protoIndex: ProtoIndex): { readonly body: string | Buffer; readonly p: number } => {
  const json = jsonText(row, protoIndex)
  // JSON text is written straight into the record; anything else is serialized by V8 first
  if (json !== undefined) return { body: json.text, p: json.form }
  const n = protoNumber(row, protoIndex)
  return { body: V8.serialize(row), p: n <= PROTO ? n : 0 }
}

const recordLength = (key: string, body: string | Buffer): number =>
  9 + Buffer.byteLength(key, "utf8") + (typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.length)

/** Writes a record at `buf[at]` (room checked by the caller with `recordLength`); returns where it ends. */
const writeRecord = (buf: Buffer, at: number, key: string, body: string | Buffer, proto: number): number => {
  const keyLen = buf.write(key, at + 4, "utf8")
  buf.writeUInt32LE(keyLen, at)
  buf[at + 4 + keyLen] = proto
  const rowAt = at + 9 + keyLen
  const rowLen = typeof body === "string" ? buf.write(body, rowAt, "utf8") : body.copy(buf, rowAt)
  buf.writeUInt32LE(rowLen, at + 5 + keyLen)
  return rowAt + rowLen
}

/**
 * A stream produced by a synchronous `pull` (a block of elements per call, empty at the end; a
 * `Left` ends the stream with that error), its blocks written straight to the channel: an Effect
 * per block holding the block would have every block promoted to V8's old generation (see
 * chunkStage.ts).
 */
export const pulledSync = <A, E>(pull: () => Either.Either<ReadonlyArray<A>, E>): Stream.Stream<A, E> => {
  const loop: Channel.Channel<Chunk.Chunk<A>, unknown, E, unknown, unknown, unknown> = Channel.suspend(() => {
    const r = pull()
    if (Either.isLeft(r)) return Channel.fail(r.left)
    return r.right.length === 0 ? Channel.void : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(r.right)), loop)
  })
  return Stream.fromChannel(loop)
}

/**
 * Appends records to a new private file (0600): each is written into a block buffer of about
 * `blockBytes`, reused, which is written out when full (no Buffer per record: a round of 75,000
 * records churned some 15 MB of small buffers through the allocator). Throws what the file system
 * throws; `close` is safe to call twice.
 */
export class RecordWriter {
  private readonly fd: number
  private block: Buffer
  private size = 0
  private closed = false
  /**
   * `block`: the bytes buffered before a write (several writers open at once each hold that), or a
   * buffer to use as the block (one writer at a time may use it: a sort reuses one from run to run).
   */
  constructor(readonly path: string, block: number | Buffer = WRITE_BYTES) {
    this.fd = Fs.openSync(path, "w", SPOOL_MODE)
    this.block = typeof block === "number" ? Buffer.allocUnsafe(block) : block
  }
  /** Room for `n` more bytes in the block. */
  private room(n: number): void {
    if (this.size + n <= this.block.length) return
    this.flush()
    if (n > this.block.length) this.block = Buffer.allocUnsafe(n)
  }
  /** Appends a record as stored (e.g. `RunReader.record`, copied). */
  add(record: Buffer): void {
    this.addRange(record, 0, record.length)
  }
  /** Appends the record stored at `buf[start, end)` (copied: no Buffer object per record). */
  addRange(buf: Buffer, start: number, end: number): void {
    this.room(end - start)
    this.size += buf.copy(this.block, this.size, start, end)
  }
  /** Appends a record whose row is given as its JSON text (a flat record's `JSON.stringify`): read back as that record. */
  addJson(key: string, json: string): void {
    const n = recordLength(key, json)
    this.room(n)
    this.size = writeRecord(this.block, this.size, key, json, JSON_ROW)
  }
  private flush(): void {
    let done = 0
    while (done < this.size) done += Fs.writeSync(this.fd, this.block, done, this.size - done)
    this.size = 0
  }
  /** Writes what is buffered and closes the file (the file is closed even if that write fails). */
  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.flush()
    } finally {
      Fs.closeSync(this.fd)
    }
  }
}

/**
 * The records of a file written by `RecordWriter` (or a sort run), in order, as `f(key, row)`: read
 * a block at a time, the file open only while the stream runs (closed however it ends).
 */
export const recordsOf = <A>(path: string, f: (key: string, row: unknown) => A, records?: number): Stream.Stream<A, InvalidInputError> =>
  Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.try({ try: () => new RunReader(Fs.openSync(path, "r"), records), catch: readErrorOf(path) }),
      (r) => Effect.sync(() => Fs.closeSync(r.fd))
    ),
    (reader) =>
      pulledSync(() => {
        try {
          const out: Array<A> = []
          while (out.length < OUT_ROWS && reader.advance()) out.push(f(reader.key!, reader.take([])))
          return Either.right(out)
        } catch (e) {
          return Either.left(readErrorOf(path)(e))
        }
      })
  ))

/**
 * Calls `f` with each record of a file written by `RecordWriter` (its key, and the record as stored,
 * valid only during the call), a block of records per step: the event loop turns between steps.
 * An `InvalidInputError` `f` throws ends it with that error.
 */
export const forEachRecord = (
  path: string,
  f: (key: string, record: Buffer) => void,
  records?: number
): Effect.Effect<void, InvalidInputError> =>
  Effect.acquireUseRelease(
    Effect.try({ try: () => new RunReader(Fs.openSync(path, "r"), records), catch: readErrorOf(path) }),
    (reader) =>
      Effect.gen(function*() {
        let more = true
        while (more) {
          more = yield* Effect.try({
            try: () => {
              for (let n = 0; n < 4 * OUT_ROWS; n++) {
                if (!reader.advance()) return false
                f(reader.key!, reader.record)
              }
              return true
            },
            catch: (e) => (e instanceof InvalidInputError ? e : readErrorOf(path)(e))
          })
          yield* Effect.yieldNow()
        }
      }),
    (r) => Effect.sync(() => Fs.closeSync(r.fd))
  )

const readErrorOf = (path: string) => (e: unknown) =>
  new InvalidInputError({ what: `cannot read the spool file ${path}: ${String(e)}${fdHint(e)}` })

/** What to do when the process ran out of file descriptors (a merge holds one per run it merges). */
const fdHint = (e: unknown): string => {
  const code = (e as { readonly code?: unknown } | null)?.code
  return code === "EMFILE" || code === "ENFILE"
    ? ". The process has too many files open: raise its limit (ulimit -n) or close other files"
    : ""
}

/** Reads the records of one run file back in order, a block at a time. */
export class RunReader {
  /**
   * One block, read into again and again (the unread bytes moved to its front first), grown only
   * for a record larger than it: a new block per read, and a concatenated copy, churned some 70 MB
   * of buffers through the allocator while 75 runs merged, which it kept as resident memory.
   */
  private buf: Buffer = Buffer.alloc(0)
  /** Bytes of `buf` read from the file, of which `[at, len)` are not consumed yet. */
  private len = 0
  private at = 0
  private eof = false
  /** The run is exhausted (no head record). */
  done = false
  private proto = 0
  /** Where the head record (`[start, end)`), its key (`[start + 4, keyEnd)`) and its row (`[rowStart, end)`) are in `buf`. */
  private start = 0
  private keyEnd = 0
  private rowStart = 0
  private end = 0
  private decoded: string | undefined
  /** Records read so far. */
  private seen = 0
  /**
   * `records`: how many the file was written with, when known: a file that ends before them (cut,
   * or emptied, behind the writer's back) or holds more is an error, not a short run taken as whole.
   */
  constructor(readonly fd: number, readonly records?: number | undefined) {}

  /** The head record's key, or undefined once the run is exhausted (decoded when asked: a merge compares the bytes). */
  get key(): string | undefined {
    if (this.done) return undefined
    return this.decoded ??= this.buf.toString("utf8", this.start + 4, this.keyEnd)
  }

  /** `compareKeys` of the two readers' head keys (neither exhausted). */
  compareHead(other: RunReader): number {
    return compareKeys(this.buf, this.start + 4, this.keyEnd, other.buf, other.start + 4, other.keyEnd)
  }

  /** The head record as stored (key, prototype byte and row), for a merge pass that writes it out as is. */
  get record(): Buffer {
    return this.buf.subarray(this.start, this.end)
  }

  private ensure(n: number): boolean {
    while (this.len - this.at < n && !this.eof) {
      const unread = this.len - this.at
      if (this.buf.length < Math.max(READ_BYTES, n)) {
        const bigger = Buffer.allocUnsafe(Math.max(READ_BYTES, n))
        this.buf.copy(bigger, 0, this.at, this.len)
        this.buf = bigger
      } else if (this.at > 0) {
        this.buf.copyWithin(0, this.at, this.len)
      }
      this.at = 0
      this.len = unread
      const got = Fs.readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null)
      if (got === 0) this.eof = true
      this.len += got
    }
    return this.len - this.at >= n
  }

  /** Moves to the next record (false at the end of the run). */
  advance(): boolean {
    this.decoded = undefined
    if (!this.ensure(4)) {
      if (this.len > this.at) throw new Error("a spool file ends inside a record (changed behind the sort's back?)")
      if (this.records !== undefined && this.seen !== this.records) {
        throw new Error(`a spool file ends after ${this.seen} of its ${this.records} records (changed behind the sort's back?)`)
      }
      this.done = true
      return false
    }
    if (this.records !== undefined && this.seen >= this.records) {
      throw new Error(`a spool file holds more than the ${this.records} records written to it (changed behind the sort's back?)`)
    }
    this.seen++
    const keyLen = this.buf.readUInt32LE(this.at)
    if (!this.ensure(4 + keyLen + 5)) throw new Error("a spool file ends inside a record (changed behind the sort's back?)")
    this.proto = this.buf[this.at + 4 + keyLen]!
    const rowLen = this.buf.readUInt32LE(this.at + 5 + keyLen)
    const total = 9 + keyLen + rowLen
    if (!this.ensure(total)) throw new Error("a spool file ends inside a record (changed behind the sort's back?)")
    // (ensure may have moved the unread bytes to the front of a new block: offsets from here)
    this.start = this.at
    this.keyEnd = this.at + 4 + keyLen
    this.rowStart = this.at + 9 + keyLen
    this.end = this.at + total
    this.at += total
    return true
  }

  /** The head record's row, decoded (before `advance`, which may replace the block). */
  take(protos: ReadonlyArray<object>): unknown {
    return revive(this.proto, this.buf, this.rowStart, this.end, protos)
  }
}

/** A run file and how many records were written to it (a file found to hold others is an error, `RunReader`). */
interface RunFile {
  readonly path: string
  readonly records: number
}

/** A binary min-heap of readers by (head key, run index): the run index keeps ties in input order. */
class Heap {
  private readonly items: Array<{ readonly r: RunReader; readonly i: number }> = []
  private less(a: number, b: number): boolean {
    const x = this.items[a]!
    const y = this.items[b]!
    const c = x.r.compareHead(y.r)
    return c < 0 || (c === 0 && x.i < y.i)
  }
  private swap(a: number, b: number) {
    const t = this.items[a]!
    this.items[a] = this.items[b]!
    this.items[b] = t
  }
  push(r: RunReader, i: number) {
    this.items.push({ r, i })
    let k = this.items.length - 1
    while (k > 0) {
      const p = (k - 1) >> 1
      if (!this.less(k, p)) break
      this.swap(k, p)
      k = p
    }
  }
  get size() {
    return this.items.length
  }
  top(): RunReader {
    return this.items[0]!.r
  }
  /** After the top reader advanced (or ended): restores the heap. */
  fix() {
    if (this.items[0]!.r.done) {
      const last = this.items.pop()!
      if (this.items.length === 0) return
      this.items[0] = last
    }
    let k = 0
    for (;;) {
      const l = 2 * k + 1
      const r = l + 1
      let m = k
      if (l < this.items.length && this.less(l, m)) m = l
      if (r < this.items.length && this.less(r, m)) m = r
      if (m === k) return
      this.swap(k, m)
      k = m
    }
  }
}

/**
 * `rows` stably sorted by `keyOf` (JavaScript string order; a lone surrogate counts as U+FFFD, `compareKeys`), in memory bounded by `limits` however
 * long the input: see the module comment. The temp files are gone once the stream ends, fails or
 * is interrupted.
 */
export const sortedBy = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  keyOf: (row: A) => string,
  limits: SortLimits = {}
): Stream.Stream<A, E | InvalidInputError, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const runBytes = limits.runBytes ?? RUN_BYTES
    const runRows = limits.runRows ?? RUN_ROWS
    /** The prototypes of the rows and of their nested values, indexed from 1 (`ProtoIndex`). */
    const protos: Array<object> = []
    const protoIds = new Map<object, number>()
    const protoIndex: ProtoIndex = (p) => {
      let n = protoIds.get(p)
      if (n === undefined) protoIds.set(p, n = protos.push(p))
      return n
    }
    const writeError = (path: string) => (e: unknown) =>
      new InvalidInputError({
        what: `cannot write the sort file ${path} (orderByParent): ${String(e)}` + (fdHint(e) || (". " +
          "The sort needs about the input's size in the temp directory (an update, upsert or delete about twice that): " +
          "free space there or point TMPDIR at a larger disk"))
      })
    // A run is encoded into one buffer (`arena`), reused from run to run, and where its records
    // start kept in a typed array: no Buffer and no string per row (a 200,000-row sort allocated 26
    // MB of small buffers; a key string per row, living as long as its run, was promoted to V8's
    // old generation: the heap grew by some 40 MB over a million rows and never shrank back).
    let arena = Buffer.allocUnsafe(Math.min(runBytes, RUN_BYTES) + READ_BYTES)
    let used = 0
    /** The run's records: the i-th (input order) starts at `starts[i]`; `count` of them. */
    let starts = new Uint32Array(1024)
    let count = 0
    /** The run's record order, reused from run to run. */
    let orderBuf = new Uint32Array(0)
    const endOf = (i: number) => (i + 1 < count ? starts[i + 1]! : used)
    /** `compareKeys` of the run's i-th and j-th records (the key follows its u32 length). */
    const compareAt = (i: number, j: number): number => {
      const a = starts[i]!
      const b = starts[j]!
      return compareKeys(arena, a + 4, a + 4 + arena.readUInt32LE(a), arena, b + 4, b + 4 + arena.readUInt32LE(b))
    }
    /** The run's record order: by key, ties by input order. */
    const order = (): Uint32Array => {
      if (orderBuf.length < count) orderBuf = new Uint32Array(starts.length)
      const idx = orderBuf.subarray(0, count)
      for (let i = 0; i < count; i++) idx[i] = i
      return idx.sort((i, j) => compareAt(i, j) || i - j)
    }
    /** The block run files are written through (one writer at a time), allocated with the first. */
    let writeBlock = Buffer.alloc(0)
    /** The temp directory, made when the first run is full (an input that fits one run never makes it). */
    const dirOf = yield* lazyTempDir
    /** Rows read so far (the index of a row that cannot be stored, in an error). */
    let rowsRead = 0
    /** The run files, in input order, and how many records each holds (a file found shorter is an error). */
    const files: Array<RunFile> = []
    /** Writes the run, sorted, to a new run file, and empties it (written through a block: no copy of the run). */
    const writeRun = () => {
      const path = Path.join(dirOf(), `run-${files.length}.bin`)
      files.push({ path, records: count })
      if (writeBlock.length === 0) writeBlock = Buffer.allocUnsafe(WRITE_BYTES)
      try {
        const writer = new RecordWriter(path, writeBlock)
        try {
          for (const i of order()) writer.addRange(arena, starts[i]!, endOf(i))
        } finally {
          writer.close()
        }
      } catch (e) {
        throw writeError(path)(e)
      }
      count = 0
      used = 0
    }
    // The input is encoded by a synchronous stage (no Effect per chunk: see chunkStage.ts, an Effect
    // holding each chunk had every input row promoted to V8's old generation), which writes each
    // full run itself.
    yield* Stream.runDrain(
      mapChunksOrFail(rows, (chunk): Either.Either<Chunk.Chunk<never>, InvalidInputError> => {
        try {
          for (const row of chunk) {
            const at = rowsRead++
            let key: string
            let stored: ReturnType<typeof bodyOf>
            try {
              key = keyOf(row)
              stored = bodyOf(row, protoIndex)
            } catch (e) {
              // a value no CSV holds (a function, a symbol; a parent with no string form): typed,
              // as it is without the sort
              if (e instanceof InvalidInputError) throw e
              throw new InvalidInputError({ what: `the row cannot be sorted by parent (orderByParent): ${String(e)}`, row: at })
            }
            const { body, p } = stored
            const len = recordLength(key, body)
            // the run is full: written before this row (an input of exactly one run stays in memory)
            if (count > 0 && (count >= runRows || used + len > runBytes)) writeRun()
            if (used + len > arena.length) {
              const bigger = Buffer.allocUnsafe(Math.max(2 * arena.length, used + len))
              arena.copy(bigger, 0, 0, used)
              arena = bigger
            }
            if (count === starts.length) {
              const more = new Uint32Array(2 * starts.length)
              more.set(starts)
              starts = more
            }
            starts[count++] = used
            used = writeRecord(arena, used, key, body, p)
          }
        } catch (e) {
          if (e instanceof InvalidInputError) return Either.left(e)
          throw e
        }
        return Either.right(Chunk.empty())
      })
    )
    if (files.length === 0) {
      // one run: sorted in memory, no file
      const sorted = order()
      const buf = arena
      let next = 0
      return pulledSync(() => {
        const out: Array<A> = []
        for (; next < sorted.length && out.length < OUT_ROWS; next++) {
          const i = sorted[next]!
          const start = starts[i]!
          const keyLen = buf.readUInt32LE(start)
          out.push(revive(buf[start + 4 + keyLen]!, buf, start + 9 + keyLen, endOf(i), protos) as A)
        }
        return Either.right(out)
      })
    }
    if (count > 0) yield* Effect.try({ try: writeRun, catch: (e) => e as InvalidInputError })
    arena = Buffer.allocUnsafe(0)
    starts = new Uint32Array(0)
    orderBuf = starts
    const fanIn = Math.max(2, limits.fanIn ?? FAN_IN)
    const readError = (e: unknown) => new InvalidInputError({ what: `cannot read a sort file (orderByParent): ${String(e)}${fdHint(e)}` })
    /** Opens the runs as readers; on a failure part way, the ones opened are closed again. */
    const openAll = (runs: ReadonlyArray<RunFile>): Array<RunReader> => {
      const rs: Array<RunReader> = []
      try {
        for (const f of runs) rs.push(new RunReader(Fs.openSync(f.path, "r"), f.records))
      } catch (e) {
        rs.forEach((r) => Fs.closeSync(r.fd))
        throw e
      }
      return rs
    }
    const heapOf = (rs: ReadonlyArray<RunReader>) => {
      const heap = new Heap()
      rs.forEach((r, i) => r.advance() && heap.push(r, i))
      return heap
    }
    /**
     * Merges `group` into the run file `path`, a block of about WRITE_BYTES per step (the event
     * loop turns between steps: a signal is heard, an interruption lands); its files are closed
     * however it ends, and removed once merged. Each record is copied into the writer's block as
     * it is taken (a reader's block is read into again on its next record).
     */
    const mergeGroup = (group: ReadonlyArray<RunFile>, path: string) =>
      Effect.acquireUseRelease(
        Effect.gen(function*() {
          const rs = yield* Effect.try({ try: () => openAll(group), catch: readError })
          return yield* Effect.try({
            try: () => ({ rs, out: new RecordWriter(path, writeBlock) }),
            catch: (e) => {
              rs.forEach((r) => Fs.closeSync(r.fd))
              return writeError(path)(e)
            }
          })
        }),
        ({ out, rs }) =>
          Effect.gen(function*() {
            const heap = yield* Effect.try({ try: () => heapOf(rs), catch: readError })
            while (heap.size > 0) {
              yield* Effect.try({
                try: () => {
                  for (let size = 0; heap.size > 0 && size < WRITE_BYTES;) {
                    const top = heap.top()
                    const record = top.record
                    try {
                      out.add(record)
                    } catch (e) {
                      throw writeError(path)(e)
                    }
                    size += record.length
                    top.advance()
                    heap.fix()
                  }
                },
                // a write failure is typed already; anything else came from reading a run
                catch: (e) => (e instanceof InvalidInputError ? e : readError(e))
              })
              yield* Effect.yieldNow()
            }
            yield* Effect.try({ try: () => out.close(), catch: writeError(path) })
            group.forEach((f) => Fs.rmSync(f.path, { force: true }))
          }),
        ({ out, rs }) =>
          Effect.sync(() => {
            try {
              out.close()
            } catch {
              // (the merge failed or was interrupted: its output is removed with the directory)
            }
            rs.forEach((r) => Fs.closeSync(r.fd))
          })
      )
    // merge passes: consecutive groups of runs into one run each, until one merge can take them all
    while (files.length > fanIn) {
      const merged: Array<RunFile> = []
      for (let g = 0; g < files.length; g += fanIn) {
        const group = files.slice(g, g + fanIn)
        const path = Path.join(dirOf(), `run-p${files.length}-${merged.length}.bin`)
        yield* mergeGroup(group, path)
        merged.push({ path, records: group.reduce((n, f) => n + f.records, 0) })
      }
      files.splice(0, files.length, ...merged)
    }
    const readers = yield* Effect.acquireRelease(
      Effect.try({ try: () => openAll(files), catch: readError }),
      (rs) => Effect.sync(() => rs.forEach((r) => Fs.closeSync(r.fd)))
    )
    const heap = yield* Effect.try({ try: () => heapOf(readers), catch: readError })
    return pulledSync(() => {
      try {
        const out: Array<A> = []
        while (heap.size > 0 && out.length < OUT_ROWS) {
          const top = heap.top()
          out.push(top.take(protos) as A)
          top.advance()
          heap.fix()
        }
        return Either.right(out)
      } catch (e) {
        return Either.left(readError(e))
      }
    })
  }))
