/**
 * Shared setup of the tests that run the real client over a started emulator: the client's layer
 * for that emulator, a fast poll, stream collection, and how many copies of each record landed.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

/** A started emulator. */
export type Emu = Awaited<ReturnType<typeof Emulator.start>>

/** `BulkClient` over the emulator's session (real HTTP through undici). */
export const clientLayer = (emu: Emu): Layer.Layer<BulkClient.BulkClient> =>
  BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

/** Polls every 20 ms, so tests over a paced emulator see each change soon. */
export const fast = { pollSchedule: Schedule.spaced("20 millis") }

/** A stream's elements as an array. */
export const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

/** How many records of `object` have each value of `field` starting with `${tag}-`. */
export const landedBy = (emu: Emu, object: string, field: string, tag: string): Map<string, number> => {
  const q = emu.org.query(`SELECT ${field} FROM ${object} WHERE ${field} LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const counts = new Map<string, number>()
  for (let i = 0; i < q.result.size; i++) {
    const value = String(q.result.row(i)[0])
    counts.set(value, (counts.get(value) ?? 0) + 1)
  }
  return counts
}

/** Inserts `n` Accounts named `${prefix} 0..n-1` straight into the org; their ids, in order. */
export const seedParents = (emu: Emu, n: number, prefix: string): Array<string> =>
  Array.from({ length: n }, (_, i) => {
    const out = emu.org.apply("insert", "Account", { Name: `${prefix} ${i}` })
    if (!out.success) throw new Error("seed failed")
    return out.id
  })

/** 600 Contacts, parents interleaved (row i -> parent i % parents), so every batch touches every parent. */
export const interleavedContacts = (tag: string, parents: ReadonlyArray<string>) =>
  Array.from({ length: 600 }, (_, i) => ({ LastName: `${tag}-${i}`, AccountId: parents[i % parents.length]! }))

/**
 * An emulator on the realistic profile paced for tests: inserts at `insertsPerSecond` per batch,
 * `parallelBatches` slots, no request latency, and every row whose parent another batch in progress
 * is writing failing `UNABLE_TO_LOCK_ROW` (`lockFailureRate`, default 1).
 */
export const pacedEmulator = (
  options: { readonly insertsPerSecond: number; readonly parallelBatches: number; readonly lockFailureRate?: number }
): Promise<Emu> =>
  Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    processing: {
      recordsPerSecond: { insert: options.insertsPerSecond },
      parallelBatches: options.parallelBatches,
      transactionRows: 25,
      requestLatencyMs: 0,
      lockFailureRate: options.lockFailureRate ?? 1
    }
  })

/** How many 2.0 ingest jobs the org lists (the REST list): a run that sends nothing creates none. */
export const ingestJobCount = async (emu: Emu): Promise<number> => {
  const res = await fetch(`${emu.instanceUrl}/services/data/v${emu.apiVersion}/jobs/ingest`, {
    headers: { Authorization: `Bearer ${emu.accessToken}` }
  })
  const body = (await res.json()) as { records: ReadonlyArray<unknown>; done?: boolean }
  if (body.done === false) throw new Error("more ingest jobs than one page: count them another way")
  return body.records.length
}

/** The Contacts of `tag` (LastName `tag-…`) in the org: LastName -> [AccountId, Description] of each record so named. */
export const contactsIn = (emu: Emu, tag: string): Map<string, Array<[string, string]>> => {
  const q = emu.org.query(`SELECT LastName, AccountId, Description FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const out = new Map<string, Array<[string, string]>>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, account, description] = q.result.row(i).map((v) => (v === null ? "" : String(v)))
    out.set(name!, [...(out.get(name!) ?? []), [account!, description!]])
  }
  return out
}
