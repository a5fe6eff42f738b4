/**
 * A fast, synchronous, incremental CSV reader (RFC 4180). Push text or UTF-8 bytes in any chunking;
 * complete rows come out through a callback as arrays of strings. Rows, line numbers and error
 * messages match csv-parse 6 with `{ delimiter, bom }` (and `record_delimiter`, `skip_empty_lines`
 * when given), so it can replace csv-parse where that was the reference.
 *
 * - Quoted fields with `""` escapes; delimiters, CR and LF inside quotes.
 * - Record delimiter: fixed (`recordDelimiter`) or, like csv-parse, discovered from the first CR, LF
 *   or CRLF outside quotes; afterwards the other line-break characters are ordinary field content.
 * - A leading UTF-8 BOM is stripped (`bom`, default true). No trailing newline needed.
 * - UTF-8 sequences split across chunks are decoded correctly.
 *
 * Options beyond csv-parse, for files people bring (all off by default):
 * - `encoding`: bytes are decoded strictly with any WHATWG encoding (a UTF-8 or UTF-16 byte-order
 *   mark selects its own decoding and is dropped); an invalid byte throws `CSV_INVALID_ENCODING`
 *   with its line and byte offset.
 * - `delimiter: "auto"`: the delimiter is read off the header line.
 * - `consistentLineEndings`: a line ending that differs from the first one outside quoted values
 *   throws `CSV_MIXED_LINE_ENDINGS` instead of being read as field content.
 * - `onEmptyLine`: told of every empty line `skipEmptyLines` skips.
 *
 * @since 0.1.0
 */

import { isAscii } from "node:buffer"
import { TextDecoder } from "node:util"

/**
 * What went wrong, with csv-parse's codes.
 *
 * @since 0.1.0
 */
export type CsvErrorCode =
  | "CSV_QUOTE_NOT_CLOSED"
  | "CSV_INVALID_CLOSING_QUOTE"
  | "INVALID_OPENING_QUOTE"
  | "CSV_RECORD_INCONSISTENT_COLUMNS"
  | "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH"
  | "CSV_INVALID_ENCODING"
  | "CSV_MIXED_LINE_ENDINGS"
  | "CSV_DELIMITER_AMBIGUOUS"

/**
 * Malformed CSV. `message` is csv-parse's text for the same input; `line` is csv-parse's line number
 * (it counts every CR and LF, a CRLF record delimiter once); `field` is the 0-based index of the
 * field in its row, when the error concerns one field.
 *
 * @since 0.1.0
 */
export class CsvError extends Error {
  override readonly name = "CsvError"
  constructor(
    readonly code: CsvErrorCode,
    message: string,
    readonly line: number,
    readonly field: number | undefined = undefined,
    /** The field's content read before the error (for `INVALID_OPENING_QUOTE`). */
    readonly value: string | undefined = undefined,
    /** The byte offset of the first invalid byte (for `CSV_INVALID_ENCODING`). */
    readonly offset: number | undefined = undefined
  ) {
    super(message)
  }
}

/**
 * A record delimiter: LF, CRLF or a lone CR.
 *
 * @since 0.1.0
 */
export type RecordDelimiter = "\n" | "\r\n" | "\r"

/**
 * Reader options.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * The column delimiter: one character other than `"`, CR or LF (Salesforce: `, \t | ; ^ \``), or
   * `"auto"`: the one of `, ; \t | ^ \`` the header line holds outside quotes (a comma when it holds
   * none; `CSV_DELIMITER_AMBIGUOUS` when it holds several). The choice is then `reader.delimiter`.
   */
  readonly delimiter: string
  /** Strip a leading UTF-8 byte-order mark (default `true`). */
  readonly bom?: boolean
  /** The record delimiter; by default discovered from the first CR, LF or CRLF outside quotes. */
  readonly recordDelimiter?: RecordDelimiter
  /** Skip lines with no characters at all (csv-parse `skip_empty_lines`; default `false`). */
  readonly skipEmptyLines?: boolean
  /**
   * Allow rows of different lengths (csv-parse `relax_column_count`; default `false`: a row whose
   * field count differs from the first row's throws `CSV_RECORD_INCONSISTENT_FIELDS_LENGTH`).
   */
  readonly relaxColumnCount?: boolean
  /**
   * Decode pushed bytes with this WHATWG encoding label (`utf-8`, `windows-1252`, `utf-16le`,
   * `shift_jis`, ...), strictly: an invalid byte throws `CSV_INVALID_ENCODING`. A leading UTF-8,
   * UTF-16 LE or UTF-16 BE byte-order mark overrides the label and is dropped. Without it, bytes are
   * read as UTF-8 the lenient way csv-parse does (invalid bytes become U+FFFD).
   */
  readonly encoding?: string | undefined
  /**
   * Outside quoted values every line must end like the first one (LF, CRLF or CR); another ending
   * throws `CSV_MIXED_LINE_ENDINGS` naming the line, where csv-parse would read it as field content.
   */
  readonly consistentLineEndings?: boolean | undefined
  /** Called with the line number of each empty line that `skipEmptyLines` skips (it may throw). */
  readonly onEmptyLine?: ((line: number) => void) | undefined
  /**
   * Count line numbers as an editor shows them: a CRLF inside a quoted value is one line break,
   * where csv-parse counts two (default `false`: csv-parse's numbers). Files exported from
   * Salesforce hold CRLF in text area values.
   */
  readonly editorLines?: boolean | undefined
}

/** Delimiters `"auto"` looks for in the header line, in Salesforce's order. */
const AUTO_DELIMITERS = [",", ";", "\t", "|", "^", "`"] as const

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

const QUOTE = 34
const LF = 10
const CR = 13
const NUL = 0
/** "No such character in the buffer": larger than any position. */
const NONE = 0x3fffffff

const M_AUTO = 0
const M_LF = 1
const M_CRLF = 2
const M_CR = 3

/** At the start of a field. */
const S_FIELD = 0
/** Inside a quoted field; `acc` holds its content so far. */
const S_QUOTED = 1
/** Right after a closing quote; `acc` holds the field's value. */
const S_AFTER = 2
/** Inside an unquoted field; `acc` holds its (non-empty) content so far. */
const S_UNQUOTED = 3

const STREAM = { stream: true } as const

const MODE_NAME = ["", "LF", "CRLF", "CR"] as const

/**
 * A text decoder (the subset of `TextDecoder` the reader uses).
 *
 * @since 0.1.0
 */
export interface Decoder {
  readonly encoding: string
  decode(input?: Uint8Array, options?: { readonly stream?: boolean }): string
}

// windows-1252 bytes 0x80-0x9F (WHATWG index), which Node 20 decodes as ISO-8859-1's C1 controls
const CP1252_HIGH = "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178"
let cp1252Broken: boolean | undefined

/**
 * A decoder for a WHATWG encoding label, like `new TextDecoder(label, options)` (a RangeError for
 * an unknown label), except that windows-1252 (also what the labels `latin1` and `iso-8859-1`
 * name) decodes 0x80-0x9F as the standard says (`€`, `‚`, `“`, ...) where Node's decoder gives C1
 * control characters: Excel's "CSV (Windows)" files need it.
 *
 * @since 0.1.0
 */
export const makeDecoder = (label: string, options?: { readonly fatal?: boolean; readonly ignoreBOM?: boolean }): Decoder => {
  const d = new TextDecoder(label, options)
  if (d.encoding !== "windows-1252") return d
  cp1252Broken ??= new TextDecoder("windows-1252").decode(Uint8Array.of(0x80)) !== "\u20ac"
  if (!cp1252Broken) return d
  // a single-byte encoding: no state between chunks, every byte valid
  return {
    encoding: d.encoding,
    decode: (input) =>
      input === undefined || input.length === 0
        ? ""
        : Buffer.from(input.buffer, input.byteOffset, input.length).toString("latin1")
          .replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!)
  }
}

/** How many bytes at the end of `b` start a UTF-8 sequence that is not complete yet. */
const incompleteTail = (b: Uint8Array): number => {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const c = b[b.length - k]!
    if (c < 0x80) return 0
    if (c >= 0xc0) return (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > k ? k : 0
  }
  return 0
}

/**
 * The index of the first byte of `b` that does not start a valid UTF-8 sequence (`b.length` if none).
 *
 * @since 0.1.0
 */
export const firstInvalidUtf8 = (b: Uint8Array): number => {
  let i = 0
  const n = b.length
  while (i < n) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      continue
    }
    const len = c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0
    if (len === 0 || i + len > n) return i
    const c1 = b[i + 1]!
    // the second byte's range excludes overlong forms and surrogates (WHATWG UTF-8 decoder)
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf
    if (c1 < lo || c1 > hi) return i
    for (let k = 2; k < len; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i
    i += len
  }
  return n
}

/** The first UTF-8 byte of the character at `i`, as csv-parse (a byte parser) names it in errors. */
const firstByte = (s: string, i: number): string => {
  const cp = s.codePointAt(i) ?? 0
  const b = cp < 0x80 ? cp : cp < 0x800 ? 0xc0 | (cp >> 6) : cp < 0x10000 ? 0xe0 | (cp >> 12) : 0xf0 | (cp >> 18)
  return String.fromCharCode(b)
}

const find = (buf: string, c: string, from: number): number => {
  const i = buf.indexOf(c, from)
  return i < 0 ? NONE : i
}

const openingQuote = (column: string | number | null, line: number, value: string): string =>
  `Invalid Opening Quote: a quote is found on field ${JSON.stringify(column)} at line ${line}, value is ${JSON.stringify(value)}${
    value === "\uFEFF" ? " (utf8 bom)" : ""
  }`

/**
 * The incremental reader. Feed it with `push` and finish with `end`; each complete row is passed to
 * `onRow` (a fresh array the callee may keep). `line` is valid inside `onRow`: csv-parse's line number
 * at the end of that row. After a thrown `CsvError` the reader must not be used again.
 *
 * @since 0.1.0
 */
export class Reader {
  private d: number
  private dStr: string
  /** `delimiter: "auto"` and the header line not read yet. */
  private auto: boolean
  private readonly bom: boolean
  private readonly skipEmpty: boolean
  private readonly relax: boolean
  private readonly strict: boolean
  private readonly onEmpty: ((line: number) => void) | undefined
  private readonly encoding: string | undefined
  /** Bytes held back until a byte-order mark can be told (strict decoding only). */
  private head: Uint8Array | undefined
  /** The label in use once the byte-order mark is sniffed. */
  private label = ""
  /** Bytes decoded so far (strict decoding), and the last 3 of them. */
  private bytes = 0
  private last3: Uint8Array = new Uint8Array(0)
  private width = -1
  private mode: number
  private decoder: Decoder | undefined
  /** The lenient UTF-8 decoder may hold the start of a multi-byte sequence. */
  private pending = false
  private started = false
  private buf = ""
  private fields: Array<string> = []
  private acc = ""
  private st = S_FIELD
  private dAt = -1
  private qAt = -1
  private lfAt = NONE
  private crAt = NONE
  /** CR and LF characters counted so far (those before `lfAt` / `crAt`). */
  private passed = 0
  /** CRLF record delimiters consumed (csv-parse counts them as one line, not two). */
  private skipped = 0
  private lastCode = -1
  private rowEnd = -1
  /** `editorLines`: an LF right after a CR is not a line of its own. */
  private readonly editor: boolean
  /** Whether the text already consumed (sliced off `buf`) ended with a CR. */
  private crBefore = false

  constructor(options: Options) {
    const del = options.delimiter
    this.auto = del === "auto"
    if (!this.auto && (del.length !== 1 || del === "\"" || del === "\r" || del === "\n")) {
      throw new TypeError(`CsvReader: the delimiter must be one character other than '"', CR or LF; got ${JSON.stringify(del)}`)
    }
    this.dStr = this.auto ? "," : del
    this.d = this.dStr.charCodeAt(0)
    this.bom = options.bom ?? true
    this.skipEmpty = options.skipEmptyLines ?? false
    this.relax = options.relaxColumnCount ?? false
    this.strict = options.consistentLineEndings ?? false
    this.onEmpty = options.onEmptyLine
    this.editor = options.editorLines ?? false
    this.encoding = options.encoding
    if (this.encoding !== undefined) {
      // fails now, as a RangeError, on a label that names no encoding
      this.label = makeDecoder(this.encoding).encoding
      this.head = new Uint8Array(0)
    }
    const rd = options.recordDelimiter
    this.mode = rd === undefined ? M_AUTO : rd === "\n" ? M_LF : rd === "\r\n" ? M_CRLF : M_CR
  }

  /** csv-parse's line number at the end of the row being passed to `onRow`. */
  get line(): number {
    if (this.rowEnd >= 0) return this.lineAt(this.rowEnd)
    return this.lineAt(this.buf.length) - (this.lastCode === LF || this.lastCode === CR ? 1 : 0)
  }

  /** The column delimiter (with `"auto"`: the one found, once the header line is read). */
  get delimiter(): string {
    return this.dStr
  }

  /** The encoding bytes are decoded with (WHATWG name; with `encoding` only, once known). */
  get encodingName(): string {
    return this.label
  }

  /** Reads a chunk of text or bytes, passing each row it completes to `onRow`. */
  push(chunk: string | Uint8Array, onRow: (fields: Array<string>) => void): void {
    let text: string
    if (typeof chunk === "string") text = chunk
    else if (this.encoding !== undefined) text = this.strictDecode(chunk, false, onRow)
    else if (!this.pending && isAscii(chunk)) {
      // ASCII is its own UTF-8: read as Latin-1, V8 makes a one-byte string. The streaming
      // decoder gives two-byte strings, so every field sliced from them took twice the memory.
      text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("latin1")
    } else {
      if (this.decoder === undefined) this.decoder = new TextDecoder("utf-8", { ignoreBOM: true })
      text = this.decoder.decode(chunk, STREAM)
      // anything the decoder holds back is the start of a sequence in the last 3 bytes (a chunk
      // shorter than that may extend what it held before: then the next chunk goes to it too)
      this.pending = chunk.length < 3 || incompleteTail(chunk) > 0
    }
    if (text.length === 0) return
    this.append(text)
    if (this.auto && !this.detect(false)) return
    this.run(false, onRow)
  }

  /** Ends the input: passes the last row (if any) to `onRow`; throws on an unclosed quote. */
  end(onRow: (fields: Array<string>) => void): void {
    if (this.encoding !== undefined) {
      const rest = this.strictDecode(new Uint8Array(0), true, onRow)
      if (rest.length > 0) this.append(rest)
    } else if (this.decoder !== undefined) {
      const rest = this.decoder.decode()
      if (rest.length > 0) this.append(rest)
    }
    if (this.auto) this.detect(true)
    this.run(true, onRow)
  }

  /** Decodes bytes with `encoding` (after the byte-order mark), throwing on an invalid byte. */
  private strictDecode(chunk: Uint8Array, end: boolean, onRow: (fields: Array<string>) => void): string {
    if (this.head !== undefined) {
      const head = concat(this.head, chunk)
      if (head.length < 3 && !end) {
        this.head = head
        return ""
      }
      this.head = undefined
      let skip = 0
      if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
        this.label = "utf-8"
        skip = 3
      } else if (head[0] === 0xff && head[1] === 0xfe) {
        this.label = "utf-16le"
        skip = 2
      } else if (head[0] === 0xfe && head[1] === 0xff) {
        this.label = "utf-16be"
        skip = 2
      }
      this.decoder = makeDecoder(this.label, { fatal: true, ignoreBOM: true })
      this.bytes = skip
      chunk = head.subarray(skip)
    }
    const decoder = this.decoder!
    try {
      const text = end ? decoder.decode(chunk) : decoder.decode(chunk, STREAM)
      this.bytes += chunk.length
      if (this.label === "utf-8") {
        this.last3 = chunk.length >= 3 ? chunk.slice(chunk.length - 3) : concat(this.last3, chunk).slice(-3)
      }
      return text
    } catch {
      throw this.invalidByte(chunk, onRow)
    }
  }

  /** The error for an invalid byte in `chunk`: its byte offset and line (the rows before it are read). */
  private invalidByte(chunk: Uint8Array, onRow: (fields: Array<string>) => void): CsvError {
    let offset = this.bytes
    let before = ""
    if (this.label === "utf-8") {
      // the decoder still held the start of a sequence the previous chunk ended in
      const pending = this.last3.subarray(this.last3.length - incompleteTail(this.last3))
      const all = concat(pending, chunk)
      const i = firstInvalidUtf8(all)
      offset = this.bytes - pending.length + i
      before = new TextDecoder("utf-8").decode(all.subarray(0, i))
    }
    if (before.length > 0) {
      this.append(before)
      if (!this.auto || this.detect(false)) this.run(false, onRow)
    }
    const line = this.lineAt(this.buf.length)
    const at = this.label === "utf-8" ? `the byte at offset ${offset}` : `a byte at or after offset ${offset}`
    return new CsvError(
      "CSV_INVALID_ENCODING",
      `Invalid ${this.label}: ${at} (line ${line}) is not ${this.label} text`,
      line,
      undefined,
      undefined,
      offset
    )
  }

  /**
   * `delimiter: "auto"`: once the header line is in the buffer (or the input ends), picks the
   * delimiter it holds outside quotes. Returns whether it is decided.
   */
  private detect(end: boolean): boolean {
    const buf = this.buf
    let i = 0
    // empty lines before the header do not count
    while (i < buf.length && (buf.charCodeAt(i) === LF || buf.charCodeAt(i) === CR)) i++
    let quoted = false
    const found = new Set<string>()
    for (; i < buf.length; i++) {
      const c = buf.charCodeAt(i)
      if (c === QUOTE) quoted = !quoted
      else if (!quoted && (c === LF || c === CR)) break
      else if (!quoted) {
        const ch = buf[i]!
        if ((AUTO_DELIMITERS as ReadonlyArray<string>).includes(ch)) found.add(ch)
      }
    }
    if (i >= buf.length && !end) return false
    this.auto = false
    if (found.size > 1) {
      const names = [...found].map((d) => (d === "\t" ? "tab" : `'${d}'`)).join(" and ")
      throw new CsvError(
        "CSV_DELIMITER_AMBIGUOUS",
        `Ambiguous delimiter: the header line holds ${names}; say which one separates the columns`,
        1
      )
    }
    this.dStr = found.size === 1 ? [...found][0]! : ","
    this.d = this.dStr.charCodeAt(0)
    return true
  }

  /** The error for a line ending that differs from the file's. */
  private mixed(buf: string, at: number): CsvError {
    const line = this.lineAt(at)
    const c = buf.charCodeAt(at)
    const found = c === LF ? "LF" : buf.charCodeAt(at + 1) === LF ? "CRLF" : "CR"
    return new CsvError(
      "CSV_MIXED_LINE_ENDINGS",
      `Mixed line endings: line ${line} ends with ${found} but the lines before it end with ${MODE_NAME[this.mode]}`,
      line
    )
  }

  private append(text: string): void {
    if (!this.started) {
      this.started = true
      if (this.bom && text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1)
        if (text.length === 0) return
      }
    }
    this.lastCode = text.charCodeAt(text.length - 1)
    const old = this.buf.length
    this.buf = old === 0 ? text : this.buf + text
    if (this.lfAt === NONE) {
      const i = text.indexOf("\n")
      if (i >= 0) this.lfAt = old + i
    }
    if (this.crAt === NONE) {
      const i = text.indexOf("\r")
      if (i >= 0) this.crAt = old + i
    }
    this.dAt = -1
    this.qAt = -1
  }

  private advLf(buf: string, to: number): void {
    let at = this.lfAt
    while (at < to) {
      if (!this.editor || (at > 0 ? buf.charCodeAt(at - 1) !== CR : !this.crBefore)) this.passed++
      const i = buf.indexOf("\n", at + 1)
      at = i < 0 ? NONE : i
    }
    this.lfAt = at
  }

  private advCr(buf: string, to: number): void {
    let at = this.crAt
    while (at < to) {
      this.passed++
      const i = buf.indexOf("\r", at + 1)
      at = i < 0 ? NONE : i
    }
    this.crAt = at
  }

  private lineAt(pos: number): number {
    this.advLf(this.buf, pos)
    this.advCr(this.buf, pos)
    return 1 + this.passed - this.skipped
  }

  private emit(fields: Array<string>, rowEnd: number, onRow: (fields: Array<string>) => void): void {
    this.rowEnd = rowEnd
    if (!this.relax) {
      if (this.width < 0) this.width = fields.length
      else if (fields.length !== this.width) {
        const line = this.line
        throw new CsvError(
          "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH",
          `Invalid Record Length: expect ${this.width}, got ${fields.length} on line ${line}`,
          line
        )
      }
    }
    onRow(fields)
  }

  private run(end: boolean, onRow: (fields: Array<string>) => void): void {
    const buf = this.buf
    const len = buf.length
    const d = this.d
    const dStr = this.dStr
    let st = this.st
    let acc = this.acc
    let fields = this.fields
    let p = 0
    outer: for (;;) {
      if (st === S_FIELD || st === S_UNQUOTED) {
        if (st === S_FIELD) {
          if (p >= len) {
            if (end && fields.length > 0) {
              fields.push("")
              this.emit(fields, -1, onRow)
              fields = []
            }
            break
          }
          if (buf.charCodeAt(p) === QUOTE) {
            st = S_QUOTED
            acc = ""
            p++
            continue
          }
        }
        const s = p
        let from = p
        for (;;) {
          let dA = this.dAt
          if (dA < from) this.dAt = dA = find(buf, dStr, from)
          let qA = this.qAt
          if (qA < from) this.qAt = qA = find(buf, "\"", from)
          let e = dA < qA ? dA : qA
          const mode = this.mode
          if (mode === M_LF && !this.strict) {
            if (this.lfAt < from) this.advLf(buf, from)
            if (this.lfAt < e) e = this.lfAt
          } else if (mode === M_AUTO || this.strict) {
            if (this.lfAt < from) this.advLf(buf, from)
            if (this.crAt < from) this.advCr(buf, from)
            if (this.lfAt < e) e = this.lfAt
            if (this.crAt < e) e = this.crAt
          } else {
            if (this.crAt < from) this.advCr(buf, from)
            if (this.crAt < e) e = this.crAt
          }
          if (e === NONE) {
            if (end) {
              fields.push(acc === "" ? buf.slice(s) : acc + buf.slice(s))
              this.emit(fields, -1, onRow)
              fields = []
              acc = ""
              st = S_FIELD
              p = len
              break outer
            }
            // Keep the last character: it may be the CR of a CRLF.
            const cut = len - 1
            if (cut > s) {
              acc = acc === "" ? buf.slice(s, cut) : acc + buf.slice(s, cut)
              st = S_UNQUOTED
              p = cut
            } else p = s
            break outer
          }
          const c = buf.charCodeAt(e)
          if (c === d) {
            fields.push(acc === "" ? buf.slice(s, e) : acc + buf.slice(s, e))
            acc = ""
            st = S_FIELD
            p = e + 1
            continue outer
          }
          if (c === QUOTE) {
            const value = acc + buf.slice(s, e)
            const line = this.lineAt(e)
            throw new CsvError("INVALID_OPENING_QUOTE", openingQuote(fields.length, line, value), line, fields.length, value)
          }
          // A CR or LF: the record delimiter?
          let rl = 1
          if (this.strict && mode !== M_AUTO) {
            // a CR may be the start of a CRLF: wait for the next character
            if (c === CR && e + 1 >= len && !end) {
              if (e > s) {
                acc = acc === "" ? buf.slice(s, e) : acc + buf.slice(s, e)
                st = S_UNQUOTED
              }
              p = e
              break outer
            }
            const crlf = c === CR && e + 1 < len && buf.charCodeAt(e + 1) === LF
            const found = c === LF ? M_LF : crlf ? M_CRLF : M_CR
            if (found !== mode) throw this.mixed(buf, e)
            rl = crlf ? 2 : 1
          } else if (mode === M_CRLF || (mode === M_AUTO && c === CR)) {
            if (e + 1 >= len) {
              if (!end) {
                if (e > s) {
                  acc = acc === "" ? buf.slice(s, e) : acc + buf.slice(s, e)
                  st = S_UNQUOTED
                }
                p = e
                break outer
              }
              rl = mode === M_AUTO ? 1 : 0
            } else if (buf.charCodeAt(e + 1) === LF) rl = 2
            else rl = mode === M_AUTO ? 1 : 0
            if (mode === M_AUTO) this.mode = rl === 2 ? M_CRLF : M_CR
          } else if (mode === M_AUTO) this.mode = M_LF
          if (rl === 0) {
            // A lone CR inside a field of a CRLF file: content.
            from = e + 1
            continue
          }
          if (this.skipEmpty && e === s && st === S_FIELD && fields.length === 0) {
            if (this.onEmpty !== undefined) this.onEmpty(this.lineAt(e))
            if (rl === 2 && !this.editor) this.skipped++
            p = e + rl
            continue outer
          }
          fields.push(acc === "" ? buf.slice(s, e) : acc + buf.slice(s, e))
          this.emit(fields, e, onRow)
          fields = []
          if (rl === 2 && !this.editor) this.skipped++
          acc = ""
          st = S_FIELD
          p = e + rl
          continue outer
        }
      }
      if (st === S_QUOTED) {
        let s = p
        for (;;) {
          let q = this.qAt
          if (q < s) this.qAt = q = find(buf, "\"", s)
          if (q === NONE) {
            if (end) {
              const line = this.lineAt(len) - (this.lastCode === LF || this.lastCode === CR ? 1 : 0)
              throw new CsvError(
                "CSV_QUOTE_NOT_CLOSED",
                `Quote Not Closed: the parsing is finished with an opening quote at line ${line}`,
                line
              )
            }
            if (s < len) acc += buf.slice(s)
            p = len
            break outer
          }
          if (q + 1 >= len) {
            if (!end) {
              if (q > s) acc += buf.slice(s, q)
              p = q
              break outer
            }
            acc += buf.slice(s, q)
            p = len
            break
          }
          if (buf.charCodeAt(q + 1) === QUOTE) {
            acc += buf.slice(s, q + 1)
            s = q + 2
            continue
          }
          acc = acc === "" ? buf.slice(s, q) : acc + buf.slice(s, q)
          p = q + 1
          break
        }
        st = S_AFTER
      }
      // S_AFTER: `acc` is the field's value, `p` the position after its closing quote.
      if (p >= len) {
        if (!end) break
        fields.push(acc)
        this.emit(fields, -1, onRow)
        fields = []
        acc = ""
        st = S_FIELD
        break
      }
      const c = buf.charCodeAt(p)
      if (c === d) {
        fields.push(acc)
        acc = ""
        st = S_FIELD
        p++
        continue
      }
      if (c === NUL) {
        // csv-parse takes a NUL after a closing quote for the end of input and reads on unquoted.
        st = S_UNQUOTED
        continue
      }
      let rl = 0
      const mode = this.mode
      if (this.strict && mode !== M_AUTO && (c === LF || c === CR)) {
        if (c === CR && p + 1 >= len && !end) break
        const crlf = c === CR && p + 1 < len && buf.charCodeAt(p + 1) === LF
        if ((c === LF ? M_LF : crlf ? M_CRLF : M_CR) !== mode) throw this.mixed(buf, p)
      }
      if (c === LF) {
        if (mode === M_LF) rl = 1
        else if (mode === M_AUTO) {
          rl = 1
          this.mode = M_LF
        }
      } else if (c === CR) {
        if (mode === M_CR) rl = 1
        else if (mode === M_CRLF || mode === M_AUTO) {
          if (p + 1 >= len && !end) break
          const crlf = p + 1 < len && buf.charCodeAt(p + 1) === LF
          if (crlf) rl = 2
          else if (mode === M_AUTO) rl = 1
          if (mode === M_AUTO) this.mode = crlf ? M_CRLF : M_CR
        }
      }
      if (rl === 0) {
        // Name the whole character in the error: wait for the low half of a split surrogate pair.
        if (c >= 0xd800 && c <= 0xdbff && p + 1 >= len && !end) break
        const line = this.lineAt(p - 1)
        throw new CsvError(
          "CSV_INVALID_CLOSING_QUOTE",
          `Invalid Closing Quote: got "${
            firstByte(buf, p)
          }" at line ${line} instead of delimiter, record delimiter, trimable character (if activated) or comment`,
          line,
          fields.length
        )
      }
      fields.push(acc)
      this.emit(fields, p, onRow)
      fields = []
      if (rl === 2 && !this.editor) this.skipped++
      acc = ""
      st = S_FIELD
      p += rl
    }
    this.st = st
    this.acc = acc
    this.fields = fields
    // Count the line breaks consumed, then keep only the unread rest.
    this.advLf(buf, p)
    this.advCr(buf, p)
    if (p > 0) {
      this.crBefore = buf.charCodeAt(p - 1) === CR
      this.buf = p >= len ? "" : buf.slice(p)
      if (this.lfAt !== NONE) this.lfAt -= p
      if (this.crAt !== NONE) this.crAt -= p
    }
    this.dAt = -1
    this.qAt = -1
  }
}

/**
 * Makes a reader.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Reader => new Reader(options)

/**
 * The maker of a header's records: one object literal with the header's names as keys, so every
 * record gets the same shape at once. Setting the keys one by one (`record[name] = value`) went
 * through V8's generic keyed stores, about 4x slower per record, and is what a 1M-row query spent
 * most of its record building on. The literal has the same outcome: a repeated name keeps its first
 * position and its last value; `__proto__` is left out (as a literal key it would set the
 * prototype). The names are written as JSON string literals, so no name can be read as code.
 */
const recordBuilder = (header: ReadonlyArray<string>): (fields: ReadonlyArray<string>) => Record<string, string> => {
  const entries: Array<string> = []
  header.forEach((name, i) => {
    if (name !== "__proto__") entries.push(`${JSON.stringify(name)}: f[${i}]`)
  })
  return new Function("f", `"use strict"; return { ${entries.join(", ")} }`) as (fields: ReadonlyArray<string>) => Record<string, string>
}

/**
 * Reads records keyed by the header row, like csv-parse's `columns: true`: the first row names the
 * columns (a repeated name keeps its first position and its last value; `__proto__` is not kept, as
 * with csv-parse); a row whose field count differs from the header's throws
 * `CSV_RECORD_INCONSISTENT_COLUMNS`. Keys are in header order.
 *
 * @since 0.1.0
 */
export class RecordReader {
  private readonly reader: Reader
  private header: ReadonlyArray<string> | undefined
  private build: ((fields: ReadonlyArray<string>) => Record<string, string>) | undefined
  constructor(options: Options) {
    this.reader = new Reader({ ...options, relaxColumnCount: true })
  }

  /** The header row, once read. */
  get columns(): ReadonlyArray<string> | undefined {
    return this.header
  }

  /** Reads a chunk, passing each record it completes to `onRecord`. */
  push(chunk: string | Uint8Array, onRecord: (record: Record<string, string>) => void): void {
    try {
      this.reader.push(chunk, this.rows(onRecord))
    } catch (e) {
      throw this.named(e)
    }
  }

  /** Ends the input, passing the last record (if any) to `onRecord`. */
  end(onRecord: (record: Record<string, string>) => void): void {
    try {
      this.reader.end(this.rows(onRecord))
    } catch (e) {
      throw this.named(e)
    }
  }

  private rows(onRecord: (record: Record<string, string>) => void): (fields: Array<string>) => void {
    return (fields) => {
      const h = this.header
      if (h === undefined) {
        this.header = fields
        this.build = recordBuilder(fields)
        return
      }
      const n = h.length
      if (fields.length !== n) {
        const line = this.reader.line
        throw new CsvError(
          "CSV_RECORD_INCONSISTENT_COLUMNS",
          `Invalid Record Length: columns length is ${n}, got ${fields.length} on line ${line}`,
          line
        )
      }
      onRecord(this.build!(fields))
    }
  }

  /** csv-parse names the field by its column once the header is known. */
  private named(e: unknown): unknown {
    if (!(e instanceof CsvError) || e.code !== "INVALID_OPENING_QUOTE" || this.header === undefined) return e
    const column = this.header[e.field ?? 0] ?? null
    return new CsvError(e.code, openingQuote(column, e.line, e.value ?? ""), e.line, e.field, e.value)
  }
}

/**
 * Makes a record reader.
 *
 * @since 0.1.0
 */
export const makeRecords = (options: Options): RecordReader => new RecordReader(options)
