#!/usr/bin/env node
/**
 * `sfbulk-emulator [--port N] [--host H] [--data org.json] [--latency ms] [--page-size rows]
 * [--result-file-rows rows] [--session-ttl seconds] [--faults "5xx=0.05,lost-answer=0.01,..."] [--seed N] [--slow-ms ms]
 * [--profile realistic] [processing knobs]`
 *
 * Prints one line of JSON with the connection facts once listening, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util"
import * as Emulator from "./Emulator.js"

// named as installed users run it (`npx -p @sfbulk/emulator sfbulk-emulator`); `pnpm emulator` in the workspace is the same
const USAGE = `Usage: sfbulk-emulator [--port N] [--host 127.0.0.1] [--data org.json] [--latency ms] [--page-size rows]
                       [--result-file-rows rows] [--session-ttl seconds] [--faults "5xx=0.05,reset=0.02"] [--seed N]
                       [--slow-ms ms] [--fault-login] [--pk-chunking-counts-original]
                       [--profile loopback|realistic] [--records-per-second insert=1000,query=50000,...]
                       [--parallel-batches N] [--bulk2-batch-size N] [--transaction-rows N] [--request-latency ms]
                       [--lock-failure-rate p] [--enforce-limits] [--daily-api-requests N]
                       [--daily-bulk-api-batches N] [--daily-bulk-v2-query-jobs N]
                       [--batch-time-limit-ms ms] [--batch-retries N]

  --faults  comma-separated key=value: per-request rates in [0,1] (their sum at most 1)
              5xx          answer 503 (or 500)
              reset        drop the connection mid-upload (nothing processed) or mid-answer
              slow         wait --slow-ms before handling the request
              limit        answer a request-limit error (some 429 with Retry-After)
              lost-answer  process the request in full, then drop the connection mid-answer
              stall        process the request, send the head and part of the answer, go silent
                           for --slow-ms, then send the rest
              batch-fail   rate of whole 1.0 batches / 2.0 jobs failing
            and expire-after=N (a session works for N authenticated requests).
  --slow-ms delay of slow and stall faults (default 10000)
  --pk-chunking-counts-original
            count a PK-chunked query's original (NotProcessed) batch in numberBatchesTotal
  --profile realistic
            Salesforce's processing model (default loopback: instant). Every knob below overrides
            the profile's value; defaults and their sources: packages/emulator/FIDELITY.md
  --records-per-second  per batch, by operation (insert, update, upsert, delete, hardDelete, query)
  --parallel-batches    batches the org processes at once (0 = unlimited)
  --lock-failure-rate   probability a record whose parent another batch holds fails UNABLE_TO_LOCK_ROW
                        (draws replay under --seed)
  --batch-time-limit-ms time a paced batch runs before the rest of it is re-queued (default 300000)
  --batch-retries       re-queues before such a batch fails for good (default 20)
  --daily-bulk-v2-query-file-storage-mb, --daily-bulk-v2-records
                        Bulk API 2.0 allocations (query result MB; ingest records)
  --enforce-limits      refuse work beyond the daily allocations shown by /limits`

const fail = (message: string): never => {
  process.stderr.write(`sfbulk-emulator: ${message}\n${USAGE}\n`)
  process.exit(2)
}

const number = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number, got '${raw}'`)
  return n
}

const main = async () => {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        data: { type: "string" },
        latency: { type: "string" },
        "page-size": { type: "string" },
        "result-file-rows": { type: "string" },
        "session-ttl": { type: "string" },
        faults: { type: "string" },
        seed: { type: "string" },
        "slow-ms": { type: "string" },
        "fault-login": { type: "boolean" },
        "pk-chunking-counts-original": { type: "boolean" },
        profile: { type: "string" },
        "records-per-second": { type: "string" },
        "parallel-batches": { type: "string" },
        "bulk2-batch-size": { type: "string" },
        "transaction-rows": { type: "string" },
        "request-latency": { type: "string" },
        "lock-failure-rate": { type: "string" },
        "enforce-limits": { type: "boolean" },
        "daily-api-requests": { type: "string" },
        "daily-bulk-api-batches": { type: "string" },
        "daily-bulk-v2-query-jobs": { type: "string" },
        "batch-time-limit-ms": { type: "string" },
        "batch-retries": { type: "string" },
        "daily-bulk-v2-query-file-storage-mb": { type: "string" },
        "daily-bulk-v2-records": { type: "string" },
        help: { type: "boolean", short: "h" }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e))
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const str = (k: string) => values[k] as string | undefined
  const options: { -readonly [K in keyof Emulator.EmulatorOptions]: Emulator.EmulatorOptions[K] } = {}
  const set = <K extends keyof Emulator.EmulatorOptions>(k: K, v: Emulator.EmulatorOptions[K] | undefined) => {
    if (v !== undefined) options[k] = v
  }
  set("port", number("port", str("port")))
  set("host", str("host"))
  set("data", str("data"))
  set("latencyMs", number("latency", str("latency")))
  set("pageSize", number("page-size", str("page-size")))
  set("resultFileRows", number("result-file-rows", str("result-file-rows")))
  set("sessionTtlSeconds", number("session-ttl", str("session-ttl")))
  set("faults", str("faults"))
  set("seed", number("seed", str("seed")))
  set("slowMs", number("slow-ms", str("slow-ms")))
  if (values["fault-login"]) options.faultLogin = true
  if (values["pk-chunking-counts-original"]) options.pkChunkingCountsOriginal = true
  const profile = str("profile")
  if (profile !== undefined) {
    if (profile !== "loopback" && profile !== "realistic") fail(`--profile must be loopback or realistic, got '${profile}'`)
    options.profile = profile as "loopback" | "realistic"
  }
  const processing: Record<string, unknown> = {}
  const knob = (flag: string, key: string) => {
    const v = number(flag, str(flag))
    if (v !== undefined) processing[key] = v
  }
  knob("parallel-batches", "parallelBatches")
  knob("bulk2-batch-size", "bulk2BatchSize")
  knob("transaction-rows", "transactionRows")
  knob("request-latency", "requestLatencyMs")
  knob("lock-failure-rate", "lockFailureRate")
  knob("daily-api-requests", "dailyApiRequests")
  knob("daily-bulk-api-batches", "dailyBulkApiBatches")
  knob("daily-bulk-v2-query-jobs", "dailyBulkV2QueryJobs")
  knob("batch-time-limit-ms", "batchTimeLimitMs")
  knob("batch-retries", "batchRetries")
  knob("daily-bulk-v2-query-file-storage-mb", "dailyBulkV2QueryFileStorageMB")
  knob("daily-bulk-v2-records", "dailyBulkV2Records")
  if (values["enforce-limits"]) processing.enforceLimits = true
  const rates = str("records-per-second")
  if (rates !== undefined) {
    const out: Record<string, number> = {}
    for (const part of rates.split(",")) {
      const [k, v] = part.split("=")
      const n = number("records-per-second", v)
      if (k === undefined || k.trim() === "" || n === undefined) {
        fail(`--records-per-second takes op=N pairs, e.g. insert=1000,query=50000; got '${rates}'`)
      }
      out[k!.trim()] = n!
    }
    processing.recordsPerSecond = out
  }
  if (Object.keys(processing).length > 0) options.processing = processing as Emulator.ProcessingOptions

  let handle: Emulator.EmulatorHandle
  try {
    handle = await Emulator.start(options)
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e))
  }
  const facts = Emulator.connectionFacts(handle)
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    handle.close().then(() => process.exit(0), () => process.exit(0))
  }
  // Listen before printing: a supervisor may signal as soon as it reads the line.
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
  process.stdout.write(`${JSON.stringify(facts)}\n`)
}

main()
