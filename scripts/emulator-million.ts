/**
 * Pushes a million-row Bulk API 2.0 ingest and a million-row query through the emulator, which runs
 * in its own process under `/usr/bin/time -v`, and prints the emulator's own figures: wall time per
 * step, its CPU time and its peak RSS. Raw HTTP (fetch), no client library, so only the emulator is
 * measured.
 *
 *   pnpm emulator:million [rows]
 */
import * as ChildProcess from "node:child_process"
import * as Readline from "node:readline"

const rows = Number(process.argv[2] ?? 1_000_000)
const child = ChildProcess.spawn(
  "/usr/bin/time",
  ["-v", process.execPath, "--import", "tsx", "packages/emulator/src/bin.ts", "--port", "0", "--latency", "0", "--page-size", "100000"],
  { stdio: ["ignore", "pipe", "pipe"] }
)
let stderr = ""
child.stderr.on("data", (d) => (stderr += String(d)))
const facts = await new Promise<{ instanceUrl: string; accessToken: string }>((resolve, reject) => {
  Readline.createInterface({ input: child.stdout }).once("line", (l) => resolve(JSON.parse(l)))
  child.once("exit", (code) => reject(new Error(`the emulator exited (code ${code}) before it listened:\n${stderr}`)))
})
const base = `${facts.instanceUrl}/services/data/v66.0/jobs`
const headers = { Authorization: `Bearer ${facts.accessToken}` }
const json = async (url: string, init: RequestInit = {}) => {
  const r = await fetch(url, { ...init, headers: { ...headers, "Content-Type": "application/json", ...(init.headers ?? {}) } })
  if (!r.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${r.status} ${await r.text()}`)
  return r.status === 201 || r.status === 204 ? undefined : r.json()
}
const waitFor = async (url: string) => {
  for (;;) {
    const info = (await json(url)) as { state: string; numberRecordsProcessed?: number }
    if (["JobComplete", "Failed", "Aborted"].includes(info.state)) return info
    await new Promise((r) => setTimeout(r, 100))
  }
}
const t = () => performance.now()
const secs = (from: number) => ((performance.now() - from) / 1000).toFixed(1)

const t0 = t()
const job = (await json(`${base}/ingest`, { method: "POST", body: JSON.stringify({ object: "Account", operation: "insert" }) })) as {
  id: string
}
const enc = new TextEncoder()
async function* csv() {
  yield enc.encode("Name,ExternalId__c,NumberOfEmployees\n")
  for (let i = 0; i < rows;) {
    let chunk = ""
    for (let k = 0; k < 5000 && i < rows; k++, i++) chunk += `Account ${i},EXT-${i},${i % 5000}\n`
    yield enc.encode(chunk)
  }
}
// undici streams an async iterable as the request body
const body = csv() as unknown as NonNullable<RequestInit["body"]>
const put = await fetch(
  `${base}/ingest/${job.id}/batches`,
  { method: "PUT", headers: { ...headers, "Content-Type": "text/csv" }, body, duplex: "half" } as RequestInit
)
if (put.status !== 201) throw new Error(`PUT: ${put.status} ${await put.text()}`)
const uploaded = secs(t0)
await json(`${base}/ingest/${job.id}`, { method: "PATCH", body: JSON.stringify({ state: "UploadComplete" }) })
const done = await waitFor(`${base}/ingest/${job.id}`)
const ingested = secs(t0)

const t1 = t()
const q = (await json(`${base}/query`, {
  method: "POST",
  body: JSON.stringify({ operation: "query", query: "SELECT Id, Name, ExternalId__c, NumberOfEmployees FROM Account" })
})) as { id: string }
await waitFor(`${base}/query/${q.id}`)
let locator: string | null = null
let read = 0
do {
  const url: string = `${base}/query/${q.id}/results${locator ? `?locator=${locator}` : ""}`
  const r = await fetch(url, { headers: { ...headers, Accept: "text/csv" } })
  const text = await r.text()
  read += Number(r.headers.get("Sforce-NumberOfRecords"))
  if (!text.includes("\n")) throw new Error("empty page")
  locator = r.headers.get("Sforce-Locator")
  if (locator === "null") locator = null
} while (locator)
const queried = secs(t1)

// signal the emulator itself (`time`'s child): `time` does not forward signals, and must live to report
const emulatorPid = Number(ChildProcess.execSync(`pgrep -P ${child.pid}`).toString().trim().split("\n")[0])
process.kill(emulatorPid, "SIGTERM")
await new Promise((r) => child.once("close", r))
const field = (name: string) => stderr.match(new RegExp(`${name}: ([\\d.:]+)`))?.[1] ?? "?"
const cpu = Number(field("User time \\(seconds\\)")) + Number(field("System time \\(seconds\\)"))
console.log(JSON.stringify({
  rows,
  ingest: { state: done.state, processed: done.numberRecordsProcessed, uploadSeconds: Number(uploaded), totalSeconds: Number(ingested) },
  query: { rowsRead: read, seconds: Number(queried) },
  emulator: { cpuSeconds: Number(cpu.toFixed(1)), peakRssMb: Math.round(Number(field("Maximum resident set size \\(kbytes\\)")) / 1024) }
}))
