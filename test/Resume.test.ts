/**
 * Resume (issue 7): a process running a journaled insert is SIGKILLed at each stage (between
 * uploads, right after the upload, while polling, after a job's results were read); re-running the
 * same insert with the same journal finishes it without uploading any row twice, and
 * `BulkClient.resume(jobIds)` finishes left-behind jobs given only their ids.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient, Journal, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { accounts, collect, type Emu, storedByKey } from "./FaultsSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-resume-"))
const CHILD = Path.join(__dirname, "fixtures", "resumeChild.ts")

beforeAll(async () => {
  // jobs stay queued a while, so that a kill lands before processing ends
  emu = await Emulator.start({ latencyMs: 150 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

type Stage = "between-uploads" | "after-upload" | "while-polling" | "mid-results"
interface Snapshot {
  readonly piecesSubmitted?: number
  readonly piecesDone?: number
  readonly last?: { readonly state: string }
  readonly finished?: number
}

const shouldKill = (stage: Stage, p: Snapshot): boolean => {
  switch (stage) {
    case "between-uploads":
    case "after-upload":
      return p.last?.state === "Uploaded"
    case "while-polling":
      return p.last !== undefined && p.last.state !== "Uploaded" && (p.piecesDone ?? 0) === 0
    case "mid-results":
      return (p.piecesDone ?? 0) >= 1
  }
}

/** Runs the child until `stage`, then SIGKILLs it; resolves with whether it was killed. */
const runChildUntil = (stage: Stage, env: Record<string, string>): Promise<boolean> =>
  new Promise((resolve, reject) => {
    // one process (node with the tsx loader, not the tsx wrapper that forks), so SIGKILL kills the run
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", CHILD], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let killed = false
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += String(d)))
    Readline.createInterface({ input: child.stdout }).on("line", (line) => {
      if (killed) return
      const p = JSON.parse(line) as Snapshot
      if (shouldKill(stage, p)) {
        killed = true
        child.kill("SIGKILL")
      }
    })
    child.on("exit", (code) => (killed || code === 0 ? resolve(killed) : reject(new Error(`child failed: ${stderr}`))))
    child.on("error", reject)
  })

/** Runs the child inserting `N` rows with a journal, in pieces of `piece` rows, until `stage`. */
const killedAt = (stage: Stage, api: string, tag: string, journal: string, piece: number) =>
  runChildUntil(stage, {
    SF_INSTANCE_URL: emu.instanceUrl,
    SF_ACCESS_TOKEN: emu.accessToken,
    API: api,
    JOURNAL: journal,
    TAG: tag,
    ROWS: String(N),
    PIECE: String(piece)
  })

const N = 900
const fast = { pollSchedule: Schedule.spaced("20 millis") }
const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

const journalJobs = (
  journal: string
): Array<string> => [
  ...new Set(Fs.readFileSync(journal, "utf8").split("\n").filter((l) => l.includes("jobId")).map((l) => JSON.parse(l).jobId as string))
]

for (const api of ["2.0", "1.0"] as const) {
  describe(`resume on Bulk API ${api}`, () => {
    const stages: Array<Stage> = ["between-uploads", "after-upload", "while-polling", "mid-results"]
    for (const stage of stages) {
      it(`killed ${stage}: re-running with the journal finishes the insert, nothing uploaded twice`, async () => {
        const tag = `r${api.replace(".", "")}${stage}`
        const journal = Path.join(dir, `${tag}.jsonl`)
        // one piece when killing right after the upload, else three
        const piece = stage === "after-upload" ? N : 300
        const killed = await killedAt(stage, api, tag, journal, piece)
        expect(killed).toBe(true)
        const uploadedBefore = journalJobs(journal)
        expect(uploadedBefore.length).toBeGreaterThan(0)
        await run(Effect.gen(function*() {
          const outcome = yield* BulkClient.insert(
            "Account",
            accounts(tag, N).map(({ Name, ExternalId__c }) => ({ Name, ExternalId__c })),
            {
              ...fast,
              api,
              journal,
              concurrency: 1,
              batchSize: piece
            }
          )
          const s = outcome.summary
          // a row uploaded twice would fail as a DUPLICATE_VALUE of ExternalId__c, or be stored twice
          expect(s, JSON.stringify({ ...s, elapsed: 0 }) + Fs.readFileSync(journal, "utf8")).toMatchObject({
            rowsRead: N,
            succeeded: N,
            failed: 0,
            unprocessed: 0
          })
          for (const id of uploadedBefore) expect(s.jobIds).toContain(id)
          const stored = storedByKey(emu, tag)
          expect(stored.size).toBe(N)
          expect([...stored.values()].every((c) => c === 1)).toBe(true)
          const names = new Set((yield* collect(outcome.successes)).map((o) => o.row.Name))
          expect(names.size).toBe(N)
          // a finished journal: running again reads the outcome back, sends nothing
          const again = yield* BulkClient.insert("Account", accounts(tag, N), { ...fast, api, journal, concurrency: 1, batchSize: piece })
          expect(again.summary, Fs.readFileSync(journal, "utf8")).toMatchObject({ rowsRead: N, succeeded: N, failed: 0 })
          expect(storedByKey(emu, tag).size).toBe(N)
        }))
      }, 40_000)
    }

    it("an operation that cannot finish fails typed, naming the job; BulkClient.resume finishes it", () =>
      run(Effect.gen(function*() {
        const tag = `rto${api.replace(".", "")}`
        // a wait far shorter than the processing: PollTimeoutError, the job left running
        const err = yield* Effect.flip(BulkClient.insert("Account", accounts(tag, 300), { ...fast, api, timeout: "20 millis" }))
        expect(err._tag).toBe("PollTimeoutError")
        const jobId = (err as { jobId: string }).jobId
        expect(jobId).toMatch(/^750/)
        expect(err.message).toContain(jobId)
        const outcome = yield* BulkClient.resume(jobId, { ...fast, api })
        expect(outcome.summary).toMatchObject({ rowsRead: 300, succeeded: 300, failed: 0, unprocessed: 0 })
        expect(storedByKey(emu, tag).size).toBe(300)
      })), 20_000)

    it("BulkClient.resume(jobIds) finishes jobs left behind after the upload, given only their ids", async () => {
      const tag = `rid${api.replace(".", "")}`
      const journal = Path.join(dir, `${tag}.jsonl`)
      const killed = await killedAt("after-upload", api, tag, journal, N)
      expect(killed).toBe(true)
      const jobIds = journalJobs(journal)
      await run(Effect.gen(function*() {
        const read = yield* Journal.read(journal)
        expect(read).toMatchObject({ object: "Account", operation: "insert", api, finished: false, jobIds })
        const outcome = yield* BulkClient.resume(jobIds, { ...fast, api })
        expect(outcome.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0, unprocessed: 0, jobIds })
        const ok = yield* collect(outcome.successes)
        expect(new Set(ok.map((o) => o.row.Name)).size).toBe(N)
        expect(storedByKey(emu, tag).size).toBe(N)
        if (api === "1.0") expect(ok.map((o) => o.position)).toEqual(Array.from({ length: N }, (_, i) => i))
        // an unknown job id is a typed error naming it
        const err = yield* Effect.flip(BulkClient.resume(api === "1.0" ? "750000000000000AAA" : "750000000000000AAA", { ...fast, api }))
        expect(["ApiError", "InvalidInputError"]).toContain(err._tag)
      }))
    }, 40_000)
  })
}

describe("journal safety", () => {
  it("a journal of another operation is refused, typed; a finished journal sends nothing again", () =>
    run(Effect.gen(function*() {
      const journal = Path.join(dir, "other-op.jsonl")
      const rows = accounts("jsafe", 50)
      const first = yield* BulkClient.insert("Account", rows, { ...fast, journal })
      expect(first.summary.succeeded).toBe(50)
      const err = yield* Effect.flip(BulkClient.upsert("Account", "ExternalId__c", rows, { ...fast, journal }))
      expect(err).toMatchObject({ _tag: "InvalidInputError" })
      expect(err.message).toContain("another operation")
      const requests = emu.stats().requests
      const again = yield* BulkClient.insert("Account", rows, { ...fast, journal })
      expect(again.summary).toMatchObject({ rowsRead: 50, succeeded: 50, jobIds: first.summary.jobIds })
      // only reads (job info and results), no job created
      expect(emu.org.count("Account")).toBeGreaterThanOrEqual(50)
      expect(storedByKey(emu, "jsafe").size).toBe(50)
      expect(emu.stats().requests - requests).toBeLessThan(10)
      expect((yield* Journal.read(journal)).finished).toBe(true)
    })))
})

describe("1.0 batches in flight when the process died (issue 11, item 11)", () => {
  it("are matched to their pieces by the SHA-256 of their request, even when every piece has the same size", async () => {
    const tag = "rhash"
    const rows = accounts(tag, 300)
    // a donor org gives the exact bodies the pipeline sends, and a journal with their hashes
    const donor = await Emulator.start({ latencyMs: 5 })
    const session = (e: { instanceUrl: string; accessToken: string }) =>
      Layer.mergeAll(BulkClient.layer(), Transport.layer()).pipe(
        Layer.provide(SalesforceAuth.fromSession({ instanceUrl: e.instanceUrl, accessToken: e.accessToken })),
        Layer.provide(NodeHttpClient.layerUndici),
        Layer.orDie
      )
    const donorJournal = Path.join(dir, "hash-donor.jsonl")
    const lines: Array<Record<string, any>> = []
    const bodies = new Map<number, Uint8Array>()
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          yield* BulkClient.insert("Account", rows, { ...fast, api: "1.0", journal: donorJournal, batchSize: 100, concurrency: 1 })
          for (const l of Fs.readFileSync(donorJournal, "utf8").trim().split("\n").slice(1).map((x) => JSON.parse(x))) {
            if (l.stage === "created") lines.push(l)
            if (l.stage === "uploaded") {
              const body = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk1.batchRequest(l.jobId, l.batchId))))
              bodies.set(l.ranges[0][0], body)
            }
          }
        }).pipe(Effect.provide(session(donor)))
      )
    } finally {
      await donor.close()
    }
    expect(lines.length).toBe(3)
    expect(lines.every((l) => typeof l.sha256 === "string")).toBe(true)
    // the run that died: pieces 0 and 2 arrived (in another order), piece 1 never did; no answer was recorded
    const journal = Path.join(dir, "hash.jsonl")
    await Effect.runPromise(
      Effect.gen(function*() {
        const job = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
        yield* Bulk1.addBatch(job, bodies.get(200)!, { check: false })
        yield* Bulk1.addBatch(job, bodies.get(0)!, { check: false })
        Fs.writeFileSync(
          journal,
          [{ v: 1, object: "Account", operation: "insert", api: "1.0" }, ...lines.map((l) => ({ ...l, jobId: job.id }))].map((l) =>
            JSON.stringify(l)
          ).join("\n") + "\n"
        )
      }).pipe(Effect.provide(session(emu)))
    )
    // re-running resumes both batches and sends only piece 1's rows
    const outcome = await run(BulkClient.insert("Account", rows, { ...fast, api: "1.0", journal, batchSize: 100, concurrency: 1 }))
    expect(outcome.summary).toMatchObject({ rowsRead: 300, succeeded: 300, failed: 0, unprocessed: 0 })
    const stored = storedByKey(emu, tag)
    expect(stored.size).toBe(300)
    expect([...stored.values()].every((c) => c === 1)).toBe(true)
  }, 40_000)
})
