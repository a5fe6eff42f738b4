import { describe, expect, it } from "@effect/vitest"
import { parse as parseCsv } from "csv-parse/sync"
import * as Effect from "effect/Effect"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ExitCode, fromTag } from "../src/ExitCode.js"
import { encode, selectedColumns } from "../src/internal/commands/export.js"
import { normalize } from "../src/internal/argv.js"
import * as Dur from "../src/internal/duration.js"
import { checkReadable, openCsv } from "../src/internal/input.js"
import { csvText, guardFormula, jsonText, ndjsonText, writeText } from "../src/internal/output.js"

const text = (s: Stream.Stream<string, any>) => Effect.map(Stream.runCollect(s), (c) => Array.from(c).join(""))

const tmp = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-cli-"))

describe("formula guard", () => {
  it("neutralises cells a spreadsheet would run, leaves numbers and text alone", () => {
    expect(guardFormula("=HYPERLINK(\"http://x\")")).toBe("'=HYPERLINK(\"http://x\")")
    expect(guardFormula("+cmd|' /C calc'!A0")).toBe("'+cmd|' /C calc'!A0")
    expect(guardFormula("-2+3")).toBe("'-2+3")
    expect(guardFormula("@SUM(A1)")).toBe("'@SUM(A1)")
    expect(guardFormula("\t=1")).toBe("'\t=1")
    expect(guardFormula("-12.5")).toBe("-12.5")
    expect(guardFormula("+33")).toBe("+33")
    expect(guardFormula("Acme = best")).toBe("Acme = best")
    expect(guardFormula("")).toBe("")
  })
})

describe("writers", () => {
  const rows = [
    { Id: "001", Name: "=1+1", Note: "a,\"quoted\"\nline" },
    { Id: "002", Name: "Plain", Note: "" }
  ]

  it.effect("csv round-trips through a CSV parser, guarded or not", () =>
    Effect.gen(function*() {
      const guarded = yield* text(csvText(Stream.fromIterable(rows), { formulaGuard: true }))
      expect(parseCsv(guarded, { columns: true })).toEqual([
        { Id: "001", Name: "'=1+1", Note: "a,\"quoted\"\nline" },
        { Id: "002", Name: "Plain", Note: "" }
      ])
      const raw = yield* text(csvText(Stream.fromIterable(rows), { formulaGuard: false }))
      expect(parseCsv(raw, { columns: true })).toEqual(rows)
    }))

  it.effect("csv of an empty stream has the header when columns are known, nothing otherwise", () =>
    Effect.gen(function*() {
      expect(yield* text(csvText(Stream.empty, { formulaGuard: true, columns: ["sf__Id", "Name"] }))).toBe("sf__Id,Name\n")
      expect(yield* text(csvText(Stream.empty, { formulaGuard: true }))).toBe("")
    }))

  it.effect("csv uses the declared columns and writes missing values as empty cells", () =>
    Effect.gen(function*() {
      const out = yield* text(csvText(Stream.make({ B: "2" }, { A: "1", B: null }), { formulaGuard: false, columns: ["A", "B"] }))
      expect(out).toBe("A,B\n,2\n1,\n")
    }))

  it.effect("json and ndjson are valid and turn empty text into null", () =>
    Effect.gen(function*() {
      expect(JSON.parse(yield* text(jsonText(Stream.fromIterable(rows))))).toEqual([rows[0], { ...rows[1], Note: null }])
      expect(JSON.parse(yield* text(jsonText(Stream.empty)))).toEqual([])
      const lines = (yield* text(ndjsonText(Stream.fromIterable(rows)))).trim().split("\n").map((l) => JSON.parse(l))
      expect(lines).toEqual([rows[0], { ...rows[1], Note: null }])
    }))

  it.effect("writeText creates the directory and writes every piece", () =>
    Effect.gen(function*() {
      const file = Path.join(tmp(), "nested", "out.csv")
      const many = Stream.range(1, 20_000).pipe(Stream.map((i) => ({ i: String(i) })))
      yield* writeText(file, csvText(many, { formulaGuard: false }))
      const lines = Fs.readFileSync(file, "utf8").trim().split("\n")
      expect(lines.length).toBe(20_001)
      expect(lines[20_000]).toBe("20000")
    }))
})

describe("export encoding", () => {
  it("reads plain field lists off the query, nothing else", () => {
    expect(selectedColumns("SELECT Id, Name, Account.Name FROM Contact WHERE Name = 'x'")).toEqual(["Id", "Name", "Account.Name"])
    expect(selectedColumns("select id from account")).toEqual(["id"])
    expect(selectedColumns("SELECT COUNT(Id) FROM Contact")).toBeUndefined()
    expect(selectedColumns("SELECT Id, (SELECT Id FROM Contacts) FROM Account")).toBeUndefined()
  })

  it.effect("an empty CSV export has the header; a non-empty one uses the rows' columns", () =>
    Effect.gen(function*() {
      expect(yield* text(encode(Stream.empty, "csv", false, ["Id", "Name"]))).toBe("Id,Name\n")
      expect(yield* text(encode(Stream.make({ Id: "1", Name: "a" }), "csv", false, ["Id", "Name"]))).toBe("Id,Name\n1,a\n")
      expect(yield* text(encode(Stream.empty, "json", false, ["Id"]))).toBe("[]\n")
    }))
})

describe("writeText on failure", () => {
  it.effect("leaves no file behind when the rows fail part way", () =>
    Effect.gen(function*() {
      const dir = tmp()
      const file = Path.join(dir, "out.csv")
      const rows = Stream.concat(Stream.make("a\n", "b\n"), Stream.fail("boom"))
      const error = yield* Effect.flip(writeText(file, rows))
      expect(error).toBe("boom")
      expect(Fs.readdirSync(dir)).toEqual([])
    }))
})

describe("input", () => {
  it.effect("reads records keyed by the header, with a BOM and CRLF", () =>
    Effect.gen(function*() {
      const file = Path.join(tmp(), "in.csv")
      Fs.writeFileSync(file, "\uFEFFName,Industry\r\nAcme,Energy\r\n\"Comma, Inc\",\r\n")
      const input = openCsv(file)
      const records = Array.from(yield* Stream.runCollect(input.records))
      expect(records).toEqual([{ Name: "Acme", Industry: "Energy" }, { Name: "Comma, Inc", Industry: "" }])
      expect(input.header()).toEqual(["Name", "Industry"])
    }))

  it.effect("a missing file, a duplicate column and a ragged row are InvalidInputErrors", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(checkReadable("/nonexistent/data.csv"))
      expect(missing._tag).toBe("InvalidInputError")
      expect(missing.message).toContain("does not exist")
      const dir = tmp()
      const dup = Path.join(dir, "dup.csv")
      Fs.writeFileSync(dup, "Name,name\na,b\n")
      const e1 = yield* Effect.flip(Stream.runDrain(openCsv(dup).records))
      expect(e1._tag).toBe("InvalidInputError")
      expect(e1.message).toContain("twice")
      const ragged = Path.join(dir, "ragged.csv")
      Fs.writeFileSync(ragged, "Name,Industry\na,b\nc,d,e\n")
      const e2 = yield* Effect.flip(Stream.runDrain(openCsv(ragged).records))
      expect(e2._tag).toBe("InvalidInputError")
      expect(e2.message).toContain("not valid CSV")
    }))
})

describe("command line helpers", () => {
  it("fills in optional flag values", () => {
    expect(normalize(["export", "--pk-chunking", "--api", "1"])).toEqual(["export", "--pk-chunking", "100000", "--api", "1"])
    expect(normalize(["export", "--pk-chunking", "5000"])).toEqual(["export", "--pk-chunking", "5000"])
    expect(normalize(["export", "--parallel"])).toEqual(["export", "--parallel", "4"])
  })

  it("parses durations", () => {
    expect(Option.map(Dur.parse("90"), Duration.toMillis)).toEqual(Option.some(90_000))
    expect(Option.map(Dur.parse("1h30m"), Duration.toMillis)).toEqual(Option.some(5_400_000))
    expect(Option.map(Dur.parse("500ms"), Duration.toMillis)).toEqual(Option.some(500))
    expect(Dur.parse("soon")).toEqual(Option.none())
    expect(Dur.parse("10x")).toEqual(Option.none())
  })

  it("gives every error tag its own exit code", () => {
    const tags = [
      "AuthenticationError",
      "SessionExpiredError",
      "InvalidInputError",
      "ApiError",
      "LimitExceededError",
      "JobFailedError",
      "BatchFailedError",
      "PollTimeoutError",
      "TransportError",
      "ResultMismatchError",
      "RowDecodeError",
      "RowsFailed",
      "UsageError"
    ]
    const codes = tags.map(fromTag)
    expect(new Set(codes).size).toBe(tags.length)
    expect(codes).not.toContain(ExitCode.Ok)
    expect(codes).not.toContain(ExitCode.Unexpected)
    expect(fromTag("Whatever")).toBe(ExitCode.Unexpected)
  })
})
