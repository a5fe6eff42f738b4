/**
 * `pnpm demo`: the whole library against an embedded emulator, in well under a minute.
 *
 * 1. generate 100,000 Accounts (a few deliberately bad) and import them with Bulk API 2.0;
 * 2. generate 200,000 Contacts linked to them through `Account.ExternalId__c` and import them;
 * 3. upsert a slice of the Accounts on `ExternalId__c` with Bulk API 1.0 in Serial mode;
 * 4. export the Contacts back with a typed query (a Schema with a relationship field);
 * then print rows/s per step, failures grouped by Salesforce error code, and where the result files are.
 * Rows are generated lazily and streamed through: nothing holds the dataset in memory.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Url from "node:url"
import { ndjsonText, writeText } from "./internal/output.js"
import { table } from "./internal/report.js"
import * as Results from "./internal/results.js"

const ACCOUNTS = Number(process.env.DEMO_ACCOUNTS ?? 100_000)
const CONTACTS = Number(process.env.DEMO_CONTACTS ?? 2 * ACCOUNTS)
const UPSERT_EXISTING = Math.min(10_000, ACCOUNTS)
const UPSERT_NEW = Math.round(UPSERT_EXISTING / 5)
const OUT = process.env.DEMO_OUT ?? Path.join(Os.tmpdir(), "sfbulk-demo")

const INDUSTRIES = ["Banking", "Biotechnology", "Energy", "Healthcare", "Manufacturing", "Retail", "Technology"]
const CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Dublin", "Austin", "Toronto", "Osaka"]
const FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger"]
const LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra"]

const ext = (i: number) => `ACC-${String(i).padStart(7, "0")}`

// Deliberately bad Accounts: a missing Name, an Industry outside the restricted picklist, a
// duplicated external id. Their indices are spread through the file.
const badAccount = (i: number): "name" | "industry" | "duplicate" | undefined =>
  i % 20_000 === 7 ? "name" : i % 25_000 === 11 ? "industry" : i > 0 && i % 33_333 === 0 ? "duplicate" : undefined

function* accounts(): Generator<Record<string, string>> {
  for (let i = 0; i < ACCOUNTS; i++) {
    const bad = badAccount(i)
    yield {
      Name: bad === "name" ? "" : `Company ${i} ${CITIES[i % CITIES.length]}`,
      ExternalId__c: bad === "duplicate" ? ext(i - 1) : ext(i),
      Industry: bad === "industry" ? "Spaceflight" : INDUSTRIES[i % INDUSTRIES.length]!,
      BillingCity: CITIES[(i * 7) % CITIES.length]!,
      AnnualRevenue: String(((i * 7919) % 5_000_000) + 10_000),
      NumberOfEmployees: String((i % 900) + 10)
    }
  }
}

// Deliberately bad Contacts: a missing LastName, an invalid Email, a parent that does not exist.
function* contacts(): Generator<Record<string, string>> {
  for (let j = 0; j < CONTACTS; j++) {
    let parent = Math.floor(j / 2) % ACCOUNTS
    while (badAccount(parent) !== undefined) parent = (parent + 1) % ACCOUNTS
    const first = FIRST[j % FIRST.length]!
    const last = LAST[(j >> 3) % LAST.length]!
    yield {
      FirstName: first,
      LastName: j % 40_000 === 13 ? "" : last,
      Email: j % 50_000 === 17 ? "not-an-email" : `${first}.${last}.${j}@example.com`.toLowerCase(),
      "Account.ExternalId__c": j % 66_666 === 21 ? "ACC-MISSING" : ext(parent),
      MailingCity: CITIES[j % CITIES.length]!
    }
  }
}

const UPSERT_COLUMNS = ["ExternalId__c", "Name", "Rating", "Industry"]

// Existing Accounts get a new Rating and Industry (Name left unchanged); new ones are created.
function* upserts(): Generator<Record<string, string>> {
  for (let i = 0; i < UPSERT_EXISTING; i++) {
    if (badAccount(i) !== undefined) continue
    yield { ExternalId__c: ext(i), Rating: i % 2 === 0 ? "Hot" : "Warm", Industry: INDUSTRIES[(i + 1) % INDUSTRIES.length]! }
  }
  for (let k = 0; k < UPSERT_NEW; k++) {
    const i = ACCOUNTS + k
    yield { ExternalId__c: ext(i), Name: `New Company ${i}`, Rating: "Cold", Industry: "Retail" }
  }
}

/** The typed shape of an exported Contact: nullable text, and the parent through its relationship. */
const ContactRow = Schema.Struct({
  Id: Schema.String,
  FirstName: Schema.NullOr(Schema.String),
  LastName: Schema.String,
  Email: Schema.NullOr(Schema.String),
  Account: Schema.NullOr(Schema.Struct({ Name: Schema.String, ExternalId__c: Schema.String }))
})

interface Step {
  readonly name: string
  readonly api: string
  readonly rows: number
  readonly ok: number
  readonly failed: number
  readonly ms: number
  readonly files: string
}

const n = (x: number) => x.toLocaleString("en-US")

const program = Effect.gen(function*() {
  const client = yield* BulkClient.BulkClient
  const steps: Array<Step> = []
  const codes = new Map<string, Map<string, number>>()

  const ingestStep = (
    name: string,
    run: Effect.Effect<BulkClient.Outcome, unknown>,
    columns: ReadonlyArray<string>
  ) =>
    Effect.gen(function*() {
      process.stderr.write(`  ${name}...\n`)
      const started = Date.now()
      const outcome = yield* run
      const ms = Date.now() - started
      const s = outcome.summary
      // Result files are written after the step, so its rows/s measure the operation alone.
      const writing = Date.now()
      const written = yield* Results.write(Results.fromOutcome(outcome, columns), {
        dir: OUT,
        jobId: s.jobIds[0]!,
        formulaGuard: true
      })
      if (process.env.DEMO_DEBUG) process.stderr.write(`    results written in ${Date.now() - writing} ms\n`)
      for (const [code, count] of Object.entries(written.errorsByCode)) {
        const per = codes.get(code) ?? new Map<string, number>()
        per.set(name, (per.get(name) ?? 0) + count)
        codes.set(code, per)
      }
      steps.push({
        name,
        api: s.api,
        rows: s.rowsRead,
        ok: s.succeeded,
        failed: s.failed + s.unprocessed,
        ms,
        files: `${s.jobIds[0]}-*.csv`
      })
    })

  yield* ingestStep(
    `import ${n(ACCOUNTS)} Accounts`,
    client.insert("Account", accounts(), { api: "2.0" }),
    ["Name", "ExternalId__c", "Industry", "BillingCity", "AnnualRevenue", "NumberOfEmployees"]
  )
  yield* ingestStep(
    `import ${n(CONTACTS)} Contacts`,
    client.insert("Contact", contacts(), { api: "2.0" }),
    ["FirstName", "LastName", "Email", "Account.ExternalId__c", "MailingCity"]
  )
  yield* ingestStep(
    `upsert Accounts (Serial)`,
    client.upsert("Account", "ExternalId__c", upserts(), { api: "1.0", serial: true, columns: UPSERT_COLUMNS }),
    UPSERT_COLUMNS
  )

  process.stderr.write(`  export Contacts (typed query)...\n`)
  const started = Date.now()
  let exported = 0
  let linked = 0
  const exportFile = Path.join(OUT, "contacts.ndjson")
  const rows = client.query("SELECT Id, FirstName, LastName, Email, Account.Name, Account.ExternalId__c FROM Contact", {
    schema: ContactRow
  }).pipe(
    Stream.tap((c) =>
      Effect.sync(() => {
        exported++
        if (c.Account !== null) linked++
      })
    )
  )
  yield* writeText(exportFile, ndjsonText(rows, { emptyAsNull: false }))
  steps.push({
    name: `export Contacts (typed, ${n(linked)} with Account)`,
    api: "2.0",
    rows: exported,
    ok: exported,
    failed: 0,
    ms: Date.now() - started,
    files: "contacts.ndjson"
  })
  return { steps, codes, exportFile }
})

const main = Effect.gen(function*() {
  const wall = Date.now()
  const emulator = yield* startEmulator
  process.stderr.write(`sfbulk demo: emulator at ${emulator.instanceUrl} (${emulator.where}); results in ${OUT}\n`)
  const auth = SalesforceAuth.oauthPassword({
    loginUrl: emulator.loginUrl,
    clientId: emulator.clientId,
    clientSecret: Redacted.make(emulator.clientSecret),
    username: emulator.username,
    password: Redacted.make(emulator.password),
    securityToken: Redacted.make(emulator.securityToken)
  })
  const layer = BulkClient.layer().pipe(Layer.provide(auth), Layer.provide(NodeHttpClient.layerUndici))
  const { steps, codes } = yield* Effect.provide(program, layer)
  const wallMs = Date.now() - wall

  const out: Array<string> = []
  out.push("")
  out.push(
    table(
      ["step", "api", "rows", "ok", "failed", "seconds", "rows/s", "result files"],
      steps.map((s) => [
        s.name,
        s.api,
        n(s.rows),
        n(s.ok),
        n(s.failed),
        (s.ms / 1000).toFixed(2),
        n(Math.round((s.rows * 1000) / Math.max(1, s.ms))),
        s.files
      ])
    )
  )
  out.push("")
  out.push(
    table(
      ["failures by Salesforce error code", "rows", "in step"],
      [...codes.entries()].sort((a, b) => sum(b[1]) - sum(a[1])).map(([code, per]) => [
        code,
        n(sum(per)),
        [...per.entries()].map(([step, k]) => `${step.replace(/^(\w+) .* (\w+)( \(.*\))?$/, "$1 $2")}: ${k}`).join(", ")
      ])
    )
  )
  out.push("")
  out.push(`result files: ${OUT}`)
  out.push(`wall time: ${(wallMs / 1000).toFixed(1)}s (client peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB)`)
  process.stdout.write(`${out.join("\n")}\n`)
  return Duration.millis(wallMs)
})

interface Facts {
  readonly instanceUrl: string
  readonly loginUrl: string
  readonly username: string
  readonly password: string
  readonly securityToken: string
  readonly clientId: string
  readonly clientSecret: string
  readonly where: string
}

/**
 * The emulator, started by the demo and stopped with it. By default it runs in a child process
 * (the emulator package's own `bin`, same Node and loader), so the emulator and the client each
 * get a CPU core; `DEMO_IN_PROCESS=1` runs it inside this process instead.
 */
const startEmulator: Effect.Effect<Facts, never, Scope.Scope> = process.env.DEMO_IN_PROCESS === "1"
  ? Effect.map(
    Effect.orDie(Emulator.make({ latencyMs: 5 })),
    (h): Facts => ({ ...h, where: "in this process" })
  )
  : Effect.acquireRelease(
    Effect.async<{ readonly facts: Facts; readonly child: ChildProcess.ChildProcess }>((resume) => {
      const bin = Url.fileURLToPath(new URL("../../emulator/src/bin.ts", import.meta.url))
      const child = ChildProcess.spawn(process.execPath, [...process.execArgv, bin, "--latency", "5"], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let out = ""
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d
        const nl = out.indexOf("\n")
        if (nl >= 0) resume(Effect.succeed({ facts: { ...JSON.parse(out.slice(0, nl)), where: `child process ${child.pid}` }, child }))
      })
      child.once("exit", (code) => resume(Effect.dieMessage(`the emulator exited (code ${code}) before listening`)))
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  ).pipe(Effect.map(({ facts }) => facts))

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)

Effect.runPromise(Effect.scoped(main)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`demo failed: ${(e as Error)?.message ?? String(e)}\n`)
    process.exit(1)
  }
)
