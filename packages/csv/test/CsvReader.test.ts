/**
 * CsvReader against csv-parse 6 as the oracle: the same rows (or the same error code, message and
 * rows before it) for well-formed files written by a correct writer and for arbitrary text, with
 * every Salesforce delimiter, LF / CRLF / CR line endings, fixed or discovered record delimiter,
 * and any chunking of the input (inside multi-byte UTF-8 sequences, between CR and LF).
 */
import { Parser } from "csv-parse"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CsvReader } from "../src/index.js"

interface ParserApi {
  parse(buf: Buffer | undefined, end: boolean, push: (r: unknown) => void, close: () => void): Error | undefined
}

type Outcome = { readonly rows: Array<unknown>; readonly error?: { code: string; message: string } }

interface Opts {
  readonly delimiter: string
  readonly recordDelimiter?: CsvReader.RecordDelimiter
  readonly skipEmptyLines?: boolean
  readonly relaxColumnCount?: boolean
  readonly columns?: boolean
}

/** csv-parse on the whole input at once. */
const oracle = (bytes: Buffer, o: Opts): Outcome => {
  const api = (new Parser({
    delimiter: o.delimiter,
    bom: true,
    ...(o.recordDelimiter !== undefined ? { record_delimiter: o.recordDelimiter } : {}),
    ...(o.skipEmptyLines ? { skip_empty_lines: true } : {}),
    ...(o.relaxColumnCount ? { relax_column_count: true } : {}),
    ...(o.columns ? { columns: true } : {})
  }) as unknown as { api: ParserApi }).api
  const rows: Array<unknown> = []
  let err: unknown
  try {
    err = api.parse(bytes, true, (r) => void rows.push(r), () => {})
  } catch (e) {
    err = e
  }
  if (err === undefined) return { rows }
  const e = err as { code: string; message: string }
  return { rows, error: { code: e.code, message: e.message } }
}

/** CsvReader on the input cut into `chunks`. */
const ours = (chunks: ReadonlyArray<string | Uint8Array>, o: Opts): Outcome => {
  const options = {
    delimiter: o.delimiter,
    ...(o.recordDelimiter !== undefined ? { recordDelimiter: o.recordDelimiter } : {}),
    ...(o.skipEmptyLines ? { skipEmptyLines: true } : {}),
    ...(o.relaxColumnCount ? { relaxColumnCount: true } : {})
  }
  const rows: Array<unknown> = []
  const push = (r: unknown) => void rows.push(r)
  const reader = o.columns ? CsvReader.makeRecords(options) : CsvReader.make(options)
  try {
    for (const c of chunks) reader.push(c, push)
    reader.end(push)
  } catch (e) {
    expect(e).toBeInstanceOf(CsvReader.CsvError)
    const ce = e as CsvReader.CsvError
    expect(ce.line).toBeGreaterThanOrEqual(1)
    return { rows, error: { code: ce.code, message: ce.message } }
  }
  return { rows }
}

/** Cuts `whole` at the given fractions (any byte or UTF-16 position). */
const cut = <A extends string | Uint8Array>(whole: A, at: ReadonlyArray<number>): Array<A> => {
  const points = [...new Set(at.map((f) => Math.floor(f * whole.length)))].sort((a, b) => a - b)
  const out: Array<A> = []
  let prev = 0
  for (const p of points) {
    out.push(whole.slice(prev, p) as A)
    prev = p
  }
  out.push(whole.slice(prev) as A)
  return out
}

const DELIMITERS = [",", "\t", "|", ";", "^", "`"] as const

const nasty = ["\"", "\"\"", "\r", "\n", "\r\n", "\t", "\uFEFF", "\u0000", "😀", "👩‍👩‍👧", "é", "中", " ", ",", "|", ";", "^", "`"]
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nasty) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom("a", "Z", "0") }
)
const value = fc.oneof(
  { weight: 20, arbitrary: fc.string({ unit, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit, minLength: 200, maxLength: 2000 }) }
)

/**
 * A correct writer: quotes a value that needs it (and sometimes one that does not); a value starting
 * with a BOM is quoted so that a reader stripping the file's BOM keeps it.
 */
const write = (rows: ReadonlyArray<ReadonlyArray<readonly [string, boolean]>>, d: string, eol: string): string =>
  rows.map((r) =>
    r.map(([v, force]) =>
      force || v.includes(d) || v.includes("\"") || v.includes("\r") || v.includes("\n") || v.length === 0 ||
        v.startsWith("\uFEFF")
        ? `"${v.replaceAll("\"", "\"\"")}"`
        : v
    ).join(d)
  ).join(eol)

const table = fc.integer({ min: 1, max: 6 }).chain((width) =>
  fc.array(fc.array(fc.tuple(value, fc.boolean()), { minLength: width, maxLength: width }), { minLength: 1, maxLength: 8 })
)
const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 })

const compare = (text: string, o: Opts, at: ReadonlyArray<number>, asBytes: boolean) => {
  const bytes = Buffer.from(text, "utf8")
  const expected = oracle(bytes, o)
  const got = asBytes ? ours(cut(new Uint8Array(bytes), at), o) : ours(cut(text, at), o)
  expect(got).toEqual(expected)
  return expected
}

describe("CsvReader vs csv-parse (well-formed files)", () => {
  it("same rows for any values, delimiter, line ending, BOM and chunking", () => {
    fc.assert(
      fc.property(
        table,
        fc.constantFrom(...DELIMITERS),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fractions,
        fc.boolean(),
        (rows, d, eol, trailing, bom, fixed, at, asBytes) => {
          const text = (bom ? "\uFEFF" : "") + write(rows, d, eol) + (trailing ? eol : "")
          const o: Opts = { delimiter: d, ...(fixed ? { recordDelimiter: eol as CsvReader.RecordDelimiter } : {}) }
          const expected = compare(text, o, at, asBytes)
          // A correct writer's output reads back as written (no quoted empty trailing row ambiguity).
          expect(expected.error).toBeUndefined()
          expect(expected.rows).toEqual(rows.map((r) => r.map(([v]) => v)))
        }
      ),
      { numRuns: 600 }
    )
  })

  it("same records keyed by the header (columns: true)", () => {
    fc.assert(
      fc.property(table, fc.constantFrom(...DELIMITERS), fc.constantFrom("\n", "\r\n"), fractions, (rows, d, eol, at) => {
        compare(write(rows, d, eol) + eol, { delimiter: d, columns: true }, at, true)
      }),
      { numRuns: 300 }
    )
  })
})

describe("CsvReader vs csv-parse (arbitrary text)", () => {
  const alphabet = fc.constantFrom("\"", "\"", ",", ";", "\r", "\n", "\r\n", "a", "b", "é", "😀", "\u0000", "\uFEFF", " ")
  const anyText = fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(""))
  it("same rows, or the same error (code, message with line) after the same rows", () => {
    fc.assert(
      fc.property(
        anyText,
        fc.constantFrom(",", ";"),
        fc.constantFrom<ReadonlyArray<CsvReader.RecordDelimiter | undefined>>([undefined], ["\n"], ["\r\n"], ["\r"]),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fractions,
        fc.boolean(),
        (text, d, [rd], skip, relax, columns, at, asBytes) => {
          compare(
            text,
            {
              delimiter: d,
              ...(rd !== undefined ? { recordDelimiter: rd } : {}),
              ...(skip ? { skipEmptyLines: true } : {}),
              ...(relax && !columns ? { relaxColumnCount: true } : {}),
              columns
            },
            at,
            asBytes
          )
        }
      ),
      { numRuns: Number(process.env["CSV_FUZZ_RUNS"] ?? 3000) }
    )
  })
})

describe("CsvReader errors (csv-parse's verdicts)", () => {
  const comma: Opts = { delimiter: "," }
  const cases: ReadonlyArray<readonly [string, string, Opts]> = [
    ["\"A\n", "Quote Not Closed: the parsing is finished with an opening quote at line 1", comma],
    ["Name\n\"A\r\n", "Quote Not Closed: the parsing is finished with an opening quote at line 3", comma],
    ["a\"b\n", "Invalid Opening Quote: a quote is found on field 0 at line 1, value is \"a\"", comma],
    ["x,y\n1,a\"b\n", "Invalid Opening Quote: a quote is found on field \"y\" at line 2, value is \"a\"", {
      delimiter: ",",
      columns: true
    }],
    [
      "\"a\"b\n",
      "Invalid Closing Quote: got \"b\" at line 1 instead of delimiter, record delimiter, trimable character (if activated) or comment",
      comma
    ],
    [
      "\"x\"\r\n\"y\"\n",
      "Invalid Closing Quote: got \"\n\" at line 2 instead of delimiter, record delimiter, trimable character (if activated) or comment",
      comma
    ],
    ["a,b\n1,2\n3\n", "Invalid Record Length: columns length is 2, got 1 on line 3", { delimiter: ",", columns: true }],
    ["a,b\n1,2\n\n", "Invalid Record Length: columns length is 2, got 1 on line 3", { delimiter: ",", columns: true }],
    ["a,b\r\n1\r\n", "Invalid Record Length: expect 2, got 1 on line 2", comma]
  ]
  it.each(cases)("%j", (text, message, o) => {
    const expected = oracle(Buffer.from(text), o)
    expect(expected.error?.message).toBe(message)
    for (let i = 0; i <= text.length; i++) {
      expect(ours([text.slice(0, i), text.slice(i)], o)).toEqual(expected)
    }
  })

  it("rejects a delimiter it cannot use", () => {
    expect(() => CsvReader.make({ delimiter: "\"" })).toThrow(TypeError)
    expect(() => CsvReader.make({ delimiter: ",," })).toThrow(TypeError)
  })
})

describe("CsvReader basics", () => {
  it("reads CRLF rows split between CR and LF, and UTF-8 split inside a character", () => {
    const bytes = Buffer.from("\uFEFFName,City\r\n\"Café, \"\"Le\"\"\",Zürich😀\r\nb,c")
    const rows: Array<Array<string>> = []
    const r = CsvReader.make({ delimiter: "," })
    for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1), (f) => rows.push(f))
    r.end((f) => rows.push(f))
    expect(rows).toEqual([["Name", "City"], ["Café, \"Le\"", "Zürich😀"], ["b", "c"]])
  })

  it("keys records by the header in header order", () => {
    const out: Array<Record<string, string>> = []
    const r = CsvReader.makeRecords({ delimiter: "|" })
    r.push("Id|Name|Id\n1|A|2\n", (x) => out.push(x))
    r.end((x) => out.push(x))
    expect(out).toEqual([{ Id: "2", Name: "A" }])
    expect(Object.keys(out[0]!)).toEqual(["Id", "Name"])
    expect(r.columns).toEqual(["Id", "Name", "Id"])
  })

  it("reads the same rows however ASCII and multi-byte UTF-8 chunks alternate (cut at any two places)", () => {
    const text = "Id,Name\nab,\"Zoë 😀\r\nx\"\ncd,é€\n"
    const bytes = new TextEncoder().encode(text)
    const readAll = (chunks: ReadonlyArray<Uint8Array>) => {
      const rows: Array<Array<string>> = []
      const r = CsvReader.make({ delimiter: "," })
      for (const c of chunks) r.push(c, (f) => rows.push(f))
      r.end((f) => rows.push(f))
      return rows
    }
    expect(readAll([bytes])).toEqual([["Id", "Name"], ["ab", "Zoë 😀\r\nx"], ["cd", "é€"]])
    // a sequence cut short by ASCII is one replacement character, whatever the chunks
    const bad = Uint8Array.of(...new TextEncoder().encode("Id,N\nx,"), 0xf0, 0x9f, 0x61, 0x62, 0xe2, 0x82, 0x0a, 0x63, 0x2c, 0xc3, 0x0a)
    expect(readAll([bad])).toEqual([["Id", "N"], ["x", "\ufffdab\ufffd"], ["c", "\ufffd"]])
    for (const input of [bytes, bad]) {
      const want = readAll([input])
      for (let i = 0; i <= input.length; i++) {
        for (let j = i; j <= input.length; j++) {
          for (let k = j; k <= Math.min(j + 3, input.length); k++) {
            const chunks = [input.subarray(0, i), input.subarray(i, j), input.subarray(j, k), input.subarray(k)]
            expect(readAll(chunks)).toEqual(want)
          }
        }
      }
    }
  })

  it("keys records by any header name as data: quotes, backslashes, line breaks, digits, __proto__", () => {
    const names = ["a\"b", "c\\d", "e\nf\u2028g", "10", "2", "__proto__", "constructor", "}; throw 1; ({", ""]
    const esc = (v: string) => `"${v.replace(/"/g, "\"\"")}"`
    const out: Array<Record<string, string>> = []
    const r = CsvReader.makeRecords({ delimiter: "," })
    r.push(names.map(esc).join(",") + "\n" + names.map((_, i) => `v${i}`).join(",") + "\n", (x) => out.push(x))
    r.end((x) => out.push(x))
    expect(out.length).toBe(1)
    const rec = out[0]!
    expect(Object.getPrototypeOf(rec)).toBe(Object.prototype)
    expect(Object.prototype.hasOwnProperty.call(rec, "__proto__")).toBe(false)
    const want: Record<string, string> = {}
    names.forEach((n, i) => {
      if (n !== "__proto__") want[n] = `v${i}`
    })
    expect(Object.keys(rec)).toEqual(Object.keys(want))
    for (const k of Object.keys(want)) expect(rec[k]).toBe(want[k])
  })
})
