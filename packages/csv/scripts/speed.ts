/**
 * CPU comparison: CsvReader vs csv-parse's synchronous core (`Parser#api.parse`) on Account-like
 * rows (10 columns, some quoted cells with delimiters, quotes and newlines), fed as 64 KiB UTF-8
 * chunks. Usage: `npx tsx packages/csv/scripts/speed.ts [rows]` (default 1,000,000).
 */
import { Parser } from "csv-parse"
import { CsvReader } from "../src/index.js"

const rows = Number(process.argv[2] ?? 1_000_000)

const header = "Name,AccountNumber,Industry,AnnualRevenue,NumberOfEmployees,Phone,BillingCity,BillingCountry,Description,Rating"
const industries = ["Banking", "Energy", "Retail", "Technology", "Consulting"]
const cell = (i: number): string => {
  const name = i % 7 === 0 ? `"Acme, Inc. ${i}"` : `Account ${i}`
  const description = i % 11 === 0
    ? `"Said ""hello""\nand left, twice"`
    : i % 5 === 0
    ? `"Café — ${i}, déjà vu"`
    : `Customer since ${2000 + (i % 25)}`
  return [
    name,
    `AN-${i.toString().padStart(8, "0")}`,
    industries[i % industries.length],
    String((i * 7919) % 10_000_000),
    String(i % 5000),
    `+1 555 ${(i % 10_000).toString().padStart(4, "0")}`,
    i % 3 === 0 ? "San Francisco" : "Paris",
    i % 2 === 0 ? "US" : "FR",
    description,
    i % 4 === 0 ? "" : "Hot"
  ].join(",")
}

const chunks: Array<Buffer> = []
{
  let text = header + "\n"
  for (let i = 0; i < rows; i++) {
    text += cell(i) + "\n"
    if (text.length >= 1 << 20) {
      const buf = Buffer.from(text)
      for (let o = 0; o < buf.length; o += 65_536) chunks.push(buf.subarray(o, Math.min(buf.length, o + 65_536)))
      text = ""
    }
  }
  const buf = Buffer.from(text)
  for (let o = 0; o < buf.length; o += 65_536) chunks.push(buf.subarray(o, Math.min(buf.length, o + 65_536)))
}
const mb = chunks.reduce((n, c) => n + c.length, 0) / 1e6

interface ParserApi {
  parse(buf: Buffer | undefined, end: boolean, push: (r: unknown) => void, close: () => void): Error | undefined
}

const cpu = (f: () => number): { ms: number; n: number } => {
  const t0 = process.cpuUsage()
  const n = f()
  const t = process.cpuUsage(t0)
  return { ms: (t.user + t.system) / 1000, n }
}

const csvParse = (columns: boolean) => () => {
  const api = (new Parser({ delimiter: ",", bom: true, columns }) as unknown as { api: ParserApi }).api
  let n = 0
  const push = () => void n++
  for (const c of chunks) {
    const err = api.parse(c, false, push, () => {})
    if (err) throw err
  }
  const err = api.parse(undefined, true, push, () => {})
  if (err) throw err
  return n
}

const ours = (records: boolean) => () => {
  let n = 0
  const push = () => void n++
  const r = records ? CsvReader.makeRecords({ delimiter: "," }) : CsvReader.make({ delimiter: "," })
  for (const c of chunks) r.push(c, push)
  r.end(push)
  return n
}

console.log(`${rows} rows, ${mb.toFixed(1)} MB in ${chunks.length} chunks of 64 KiB`)
for (const records of [false, true]) {
  // One warm-up pass each on a slice, then the timed runs.
  const a = cpu(csvParse(records))
  const b = cpu(ours(records))
  if (a.n !== b.n) throw new Error(`row counts differ: csv-parse ${a.n}, CsvReader ${b.n}`)
  const what = records ? "records (columns: true)" : "rows (arrays)"
  console.log(
    `${what.padEnd(24)} csv-parse ${a.ms.toFixed(0).padStart(6)} ms CPU | CsvReader ${b.ms.toFixed(0).padStart(6)} ms CPU | ${
      (a.ms / b.ms).toFixed(2)
    }x faster (${a.n} ${records ? "records" : "rows"})`
  )
}
