/**
 * The reader's options for files people bring (beyond csv-parse): strict decoding in any WHATWG
 * encoding with byte-order-mark sniffing, the delimiter read off the header line, one line ending
 * per file outside quoted values, empty lines reported; and the writer that quotes CR.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CsvReader, CsvWriter } from "../src/index.js"

type Result = { rows: Array<Array<string>>; error?: CsvReader.CsvError; reader: CsvReader.Reader }

const read = (input: string | Uint8Array, options: Partial<CsvReader.Options>, cut = 1 << 20): Result => {
  const reader = CsvReader.make({ delimiter: ",", ...options })
  const rows: Array<Array<string>> = []
  try {
    if (typeof input === "string") reader.push(input, (r) => void rows.push(r))
    else for (let i = 0; i < input.length; i += cut) reader.push(input.subarray(i, i + cut), (r) => void rows.push(r))
    reader.end((r) => void rows.push(r))
    return { rows, reader }
  } catch (e) {
    if (!(e instanceof CsvReader.CsvError)) throw e
    return { rows, error: e, reader }
  }
}

const latin1 = (s: string) => Buffer.from(s, "latin1")

describe("encoding", () => {
  it("invalid UTF-8 is an error naming the line and byte offset, in any chunking (not U+FFFD)", () => {
    for (const cut of [1, 2, 3, 5, 100]) {
      const r = read(latin1("Name\nok\nCaf\xe9\n"), { encoding: "utf-8" }, cut)
      expect(r.error?.code).toBe("CSV_INVALID_ENCODING")
      expect(r.error?.line).toBe(3)
      expect(r.error?.offset).toBe(11)
    }
    // a multi-byte character split across chunks is fine; a bad byte after it is found exactly
    const bytes = Buffer.concat([Buffer.from("A\né€😀", "utf8"), Buffer.from([0xff])])
    for (const cut of [1, 2, 3, 4]) expect(read(bytes, { encoding: "utf-8" }, cut).error?.offset).toBe(bytes.length - 1)
    // an overlong form and a surrogate encoded in UTF-8 are invalid too
    expect(read(Buffer.from([0x41, 0x0a, 0xc0, 0xaf]), { encoding: "utf-8" }).error?.offset).toBe(2)
    expect(read(Buffer.from([0x41, 0x0a, 0xed, 0xa0, 0x80]), { encoding: "utf-8" }).error?.offset).toBe(2)
    // a sequence cut short by the end of input
    expect(read(Buffer.from([0x41, 0x0a, 0xe2, 0x82]), { encoding: "utf-8" }, 1).error?.code).toBe("CSV_INVALID_ENCODING")
  })

  it("windows-1252 (and its labels latin1, iso-8859-1) reads 0x80-0x9F as the standard says: €, ‚, “ ”, Ÿ", () => {
    for (const label of ["windows-1252", "latin1", "iso-8859-1", "cp1252"]) {
      expect(read(latin1("Name\nCaf\xe9 \x80 \x82\x93\x94\x9f\n"), { encoding: label }).rows).toEqual([["Name"], ["Café € ‚“”Ÿ"]])
    }
  })

  it("a byte-order mark selects UTF-8, UTF-16 LE or UTF-16 BE over the label and is dropped", () => {
    const text = "Name\tCity\r\nCafé\t€😀\r\n"
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])
    const be = Buffer.from(le).swap16()
    const u8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, "utf8")])
    for (const [bytes, name] of [[le, "utf-16le"], [be, "utf-16be"], [u8, "utf-8"]] as const) {
      for (const cut of [1, 2, 3, 7]) {
        const r = read(bytes, { encoding: "windows-1252", delimiter: "auto" }, cut)
        expect(r.rows).toEqual([["Name", "City"], ["Café", "€😀"]])
        expect(r.reader.encodingName).toBe(name)
      }
    }
  })

  it("other WHATWG encodings: shift_jis, macintosh; an unknown label is a RangeError", () => {
    expect(read(Buffer.from([0x41, 0x0a, 0x82, 0xa0]), { encoding: "shift_jis" }).rows).toEqual([["A"], ["あ"]])
    expect(read(Buffer.from([0x41, 0x0d, 0x8e, 0xdb]), { encoding: "macintosh" }).rows).toEqual([["A"], ["é€"]])
    expect(() => CsvReader.make({ delimiter: ",", encoding: "latin9x" })).toThrow(RangeError)
  })
})

describe("delimiter: auto", () => {
  it("takes the one delimiter the header line holds outside quotes; a comma when none; ambiguous when several", () => {
    for (const d of [",", ";", "\t", "|", "^", "`"]) {
      const r = read(`"Na${d === "," ? ";" : ","}me"${d}B\r\n1${d}"2${d}"\r\n`, { delimiter: "auto" }, 3)
      expect(r.reader.delimiter).toBe(d)
      expect(r.rows[1]).toEqual(["1", `2${d}`])
    }
    expect(read("Id\n001\n", { delimiter: "auto" }).reader.delimiter).toBe(",")
    const r = read("Name;Industry,Phone\nx;y,z\n", { delimiter: "auto" })
    expect(r.error?.code).toBe("CSV_DELIMITER_AMBIGUOUS")
    expect(r.error?.message).toContain("';' and ','")
  })
})

describe("consistentLineEndings", () => {
  it("refuses a line ending that differs from the first, naming its line (issue 12's examples)", () => {
    const a = read("Name,AccountNumber\nM4,m4\r\nM5,m5\n", { consistentLineEndings: true })
    expect(a.error?.code).toBe("CSV_MIXED_LINE_ENDINGS")
    expect(a.error?.message).toBe("Mixed line endings: line 2 ends with CRLF but the lines before it end with LF")
    const b = read("Id\r\nfoo\nbar\r\n", { consistentLineEndings: true })
    expect(b.error?.message).toBe("Mixed line endings: line 2 ends with LF but the lines before it end with CRLF")
    const c = read("A\rx\r\ny\r", { consistentLineEndings: true })
    expect(c.error?.message).toContain("line 2 ends with CRLF but the lines before it end with CR")
    // after a closing quote, and a CR at the very end of a CRLF file
    expect(read("A\r\n\"x\"\ny\r\n", { consistentLineEndings: true }).error?.line).toBe(2)
    expect(read("A\r\nx\r", { consistentLineEndings: true }).error?.code).toBe("CSV_MIXED_LINE_ENDINGS")
  })

  it("accepts LF, CRLF and CR files, in any chunking, with any line break inside quoted values kept exactly", () => {
    for (const eol of ["\n", "\r\n", "\r"]) {
      const text = `A,B${eol}"x\ry","1\r\n2\n3"${eol}z,w${eol}`
      for (const cut of [1, 2, 3, 100]) {
        const r = read(Buffer.from(text), { consistentLineEndings: true, encoding: "utf-8" }, cut)
        expect(r.error).toBeUndefined()
        expect(r.rows).toEqual([["A", "B"], ["x\ry", "1\r\n2\n3"], ["z", "w"]])
      }
    }
  })
})

describe("onEmptyLine", () => {
  it("is told the line of every empty line skipped", () => {
    const lines: Array<number> = []
    const r = read("Id\r\n001\r\n\r\n002\r\n\r\n", { skipEmptyLines: true, onEmptyLine: (l) => void lines.push(l) })
    expect(r.rows).toEqual([["Id"], ["001"], ["002"]])
    expect(lines).toEqual([3, 5])
  })
})

describe("CsvWriter", () => {
  it("quotes CR as well as LF, quotes and the delimiter; an empty one-column record is \"\" (never a blank line)", () => {
    const w = CsvWriter.make({ delimiter: ";" })
    expect(w.row(["a\rb", "=cmd"])).toBe("\"a\rb\";=cmd\n")
    expect(w.row(["x;y", "q\"", "l\nf", "c,d"])).toBe("\"x;y\";\"q\"\"\";\"l\nf\";c,d\n")
    expect(w.row([""])).toBe("\"\"\n")
    expect(w.row(["", ""])).toBe(";\n")
    expect(CsvWriter.make({ eol: "\r\n" }).rows([["A"], [""], ["b"]])).toBe("A\r\n\"\"\r\nb\r\n")
  })

  it("what it writes reads back exactly with the strict reader, for any values", () =>
    fc.assert(fc.property(
      fc.array(fc.array(fc.string({ unit: "binary" }), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 5 }),
      fc.constantFrom(",", ";", "\t", "|", "^", "`"),
      fc.constantFrom("\n", "\r\n") as fc.Arbitrary<"\n" | "\r\n">,
      (rows, d, eol) => {
        const text = CsvWriter.make({ delimiter: d, eol }).rows([["A", "B"], ...rows])
        expect(read(text, { delimiter: d, consistentLineEndings: true }).rows).toEqual([["A", "B"], ...rows])
      }
    )))
})

describe("editorLines", () => {
  /** The line each row ends on, with the text pushed in pieces of `cut` characters. */
  const endLines = (text: string, cut: number, editorLines: boolean) => {
    const reader = CsvReader.make({ delimiter: ",", editorLines })
    const lines: Array<number> = []
    for (let i = 0; i < text.length; i += cut) reader.push(text.slice(i, i + cut), () => void lines.push(reader.line))
    reader.end(() => void lines.push(reader.line))
    return lines
  }

  it("counts a CRLF inside a quoted value as one line, in any chunking (csv-parse counts two)", () => {
    const text = "a,b\r\n1,\"x\r\ny\r\nz\"\r\n2,\"p\rq\"\r\n3,w\r\n"
    for (const cut of [1, 2, 3, 7, 1000]) {
      // rows end on lines 1, 4, 6 (a lone CR breaks a line in an editor too), 7
      expect(endLines(text, cut, true), `cut ${cut}`).toEqual([1, 4, 6, 7])
      expect(endLines(text, cut, false), `cut ${cut}`).toEqual([1, 6, 8, 9])
    }
  })

  it("numbers lines as an LF-only text's when the file is the same with CRLF", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.stringMatching(/^[a-z\n",]{0,6}$/), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 9 }),
        (rows, cut) => {
          const lf = rows.map((r) => r.map((c) => `"${c.replace(/"/g, "\"\"")}"`).join(",")).join("\n") + "\n"
          const crlf = lf.replace(/\n/g, "\r\n")
          expect(endLines(crlf, cut, true)).toEqual(endLines(lf, cut, true))
        }
      )
    )
  })
})
