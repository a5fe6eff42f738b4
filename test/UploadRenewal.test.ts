/**
 * The low-level Bulk API 2.0 uploads after a session expiry: Salesforce refuses the upload unread
 * (`INVALID_SESSION_ID`), the session is renewed and the upload replayed, from the file for
 * `uploadFile` and from the spool file for a `Stream` given to `uploadJobData`. The rows land once.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk2, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let dir: string

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-renewal-test-"))
})
afterAll(async () => {
  await emu?.close()
  if (dir) Fs.rmSync(dir, { recursive: true, force: true })
})

/** A renewable session (OAuth password flow), so an expired session can be replaced. */
const layer = () =>
  Bulk2.layer().pipe(
    Layer.provide(
      SalesforceAuth.oauthPassword({
        loginUrl: emu.loginUrl,
        clientId: emu.clientId,
        clientSecret: Redacted.make(emu.clientSecret),
        username: emu.username,
        password: Redacted.make(emu.password),
        securityToken: Redacted.make(emu.securityToken)
      })
    ),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

const csvOf = (tag: string, n: number) => `Name,NumberOfEmployees\n${Array.from({ length: n }, (_, i) => `${tag} ${i},${i}`).join("\n")}\n`

/** How many times each `${tag} i` name is stored. */
const stored = (tag: string) => {
  const r = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  if (!r.ok) throw new Error(JSON.stringify(r.error))
  const counts = new Map<string, number>()
  for (let i = 0; i < r.result.size; i++) {
    const name = String(r.result.row(i)[0])
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

/** Creates a job, then uploads with every session expiring after one request, then loads it. */
const loadWithExpiry = (upload: (job: Bulk2.JobInfo) => Effect.Effect<void, unknown, Transport.Transport>) =>
  Effect.gen(function*() {
    const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
    // the session that created the job is used up: the upload is refused unread, then replayed
    emu.setFaults({ expireAfter: 1 })
    const before = emu.stats().faults["expire-after"]
    yield* upload(job)
    const expiredDuringUpload = emu.stats().faults["expire-after"] - before
    emu.setFaults(undefined)
    yield* Bulk2.closeIngestJob(job.id)
    const done = yield* Bulk2.waitForIngestJob(job.id, { schedule: Schedule.spaced("20 millis"), timeout: "30 seconds" })
    return { done, expiredDuringUpload }
  }).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))), Effect.provide(layer()))

describe("Bulk2 uploads after a session renewal", () => {
  it.live("uploadFile replays the file: every row lands once", () =>
    Effect.gen(function*() {
      const path = Path.join(dir, "renew-file.csv")
      Fs.writeFileSync(path, csvOf("RenewFile", 1200))
      const { done, expiredDuringUpload } = yield* loadWithExpiry((job) => Bulk2.uploadFile(job, path))
      expect(expiredDuringUpload).toBeGreaterThanOrEqual(1)
      expect(done.state).toBe("JobComplete")
      expect(done.numberRecordsProcessed).toBe(1200)
      expect(done.numberRecordsFailed).toBe(0)
      const counts = stored("RenewFile")
      expect(counts.size).toBe(1200)
      expect([...counts.values()].every((n) => n === 1)).toBe(true)
    }), 60_000)

  it.live("uploadJobData replays a Stream from its spool file: every row lands once", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode(csvOf("RenewStream", 1500))
      const data = Stream.fromIterable([bytes.subarray(0, 7000), bytes.subarray(7000)])
      const { done, expiredDuringUpload } = yield* loadWithExpiry((job) => Bulk2.uploadJobData(job, data))
      expect(expiredDuringUpload).toBeGreaterThanOrEqual(1)
      expect(done.state).toBe("JobComplete")
      expect(done.numberRecordsProcessed).toBe(1500)
      const counts = stored("RenewStream")
      expect(counts.size).toBe(1500)
      expect([...counts.values()].every((n) => n === 1)).toBe(true)
    }), 60_000)

  it.live("uploadJobData replays a Stream given with check: false too", () =>
    Effect.gen(function*() {
      const bytes = new TextEncoder().encode(csvOf("RenewUnchecked", 300))
      const { done, expiredDuringUpload } = yield* loadWithExpiry(
        (job) => Bulk2.uploadJobData(job, Stream.make(bytes), { check: false })
      )
      expect(expiredDuringUpload).toBeGreaterThanOrEqual(1)
      expect(done.numberRecordsProcessed).toBe(300)
      expect([...stored("RenewUnchecked").values()]).toEqual(Array.from({ length: 300 }, () => 1))
    }), 60_000)
})
