/**
 * Plain-HTTP Bulk 2.0 calls the harness makes itself (neither client involved): seeding the org
 * before a query workload and reading it back to check what an ingest workload left there.
 */
import { parse } from "csv-parse"
import { stringify } from "csv-stringify"
import { Readable } from "node:stream"
import { accountColumns, accountRows } from "./data.js"

/** Where and how to call the emulator. */
export interface Target {
  readonly instanceUrl: string
  readonly accessToken: string
  readonly apiVersion: string
}

const base = (t: Target) => `${t.instanceUrl}/services/data/v${t.apiVersion}/jobs`

const call = async (t: Target, method: string, url: string, init: RequestInit = {}): Promise<Response> => {
  const res = await fetch(url, {
    ...init,
    method,
    headers: { Authorization: `Bearer ${t.accessToken}`, ...(init.headers as Record<string, string> | undefined) }
  })
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status}: ${(await res.text()).slice(0, 500)}`)
  return res
}

const json = async (t: Target, method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
  const res = await call(t, method, url, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { "Content-Type": "application/json", Accept: "application/json" }
  })
  const text = await res.text()
  return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>)
}

const waitJob = async (t: Target, kind: "ingest" | "query", id: string): Promise<Record<string, unknown>> => {
  for (;;) {
    const info = await json(t, "GET", `${base(t)}/${kind}/${id}`)
    if (info["state"] === "JobComplete") return info
    if (info["state"] === "Failed" || info["state"] === "Aborted") {
      throw new Error(`${kind} job ${id} ended ${String(info["state"])}: ${String(info["errorMessage"] ?? "")}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Insert generated Accounts `from`..`to-1` with one 2.0 job per `perJob` rows. */
export const seedAccounts = async (t: Target, from: number, to: number, perJob = 500_000): Promise<void> => {
  for (let lo = from; lo < to; lo += perJob) {
    const hi = Math.min(to, lo + perJob)
    const job = await json(t, "POST", `${base(t)}/ingest`, { object: "Account", operation: "insert", lineEnding: "LF" })
    const id = String(job["id"])
    const csv = Readable.from(accountRows(lo, hi)).pipe(stringify({ header: true, columns: [...accountColumns] }))
    await call(t, "PUT", `${base(t)}/ingest/${id}/batches`, {
      body: Readable.toWeb(csv) as unknown as ReadableStream<Uint8Array>,
      headers: { "Content-Type": "text/csv" },
      duplex: "half"
    } as RequestInit)
    await json(t, "PATCH", `${base(t)}/ingest/${id}`, { state: "UploadComplete" })
    const done = await waitJob(t, "ingest", id)
    if (Number(done["numberRecordsFailed"]) !== 0 || Number(done["numberRecordsProcessed"]) !== hi - lo) {
      throw new Error(`seeding job ${id}: ${JSON.stringify(done)}`)
    }
    await call(t, "DELETE", `${base(t)}/ingest/${id}`)
  }
}

/** Run a 2.0 query and hand every record to `onRow`, page by page (never holding the result). */
export const queryEach = async (
  t: Target,
  soql: string,
  onRow: (rec: Record<string, string>) => void
): Promise<number> => {
  const job = await json(t, "POST", `${base(t)}/query`, { operation: "query", query: soql })
  const id = String(job["id"])
  await waitJob(t, "query", id)
  let locator: string | null = null
  let n = 0
  do {
    const url: string = `${base(t)}/query/${id}/results?maxRecords=200000${locator ? `&locator=${locator}` : ""}`
    const res = await call(t, "GET", url, { headers: { Accept: "text/csv" } })
    locator = res.headers.get("sforce-locator")
    if (locator === "null") locator = null
    const parser = Readable.fromWeb(res.body! as import("node:stream/web").ReadableStream).pipe(
      parse({ columns: true })
    )
    for await (const rec of parser as AsyncIterable<Record<string, string>>) {
      onRow(rec)
      n++
    }
  } while (locator !== null)
  await call(t, "DELETE", `${base(t)}/query/${id}`)
  return n
}
