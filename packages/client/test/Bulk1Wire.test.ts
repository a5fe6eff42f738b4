import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Bulk1 from "../src/Bulk1.js"
import * as BatchWatch from "../src/internal/batchWatch.js"
import * as Wire from "../src/internal/bulk1.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import * as Transport from "../src/Transport.js"

/** The text as a byte stream cut into pieces of `size` bytes (splitting multi-byte characters). */
const bytes = (text: string, size: number) => {
  const all = new TextEncoder().encode(text)
  const out: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size))
  return Stream.fromIterable(out)
}

const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

describe("Bulk 1.0 wire format", () => {
  it.effect("ingest results from CSV, JSON and XML agree, whatever the chunking", () =>
    Effect.gen(function*() {
      const csv =
        `"Id","Success","Created","Error"\n"001A","true","true",""\n"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"\n"001B","true","false",""\n`
      const json =
        `[{"success":true,"created":true,"id":"001A","errors":[]},{"success":false,"created":false,"id":null,"errors":[{"fields":["Name"],"message":"Required fields are missing: [Name]","statusCode":"REQUIRED_FIELD_MISSING"}]},{"success":true,"created":false,"id":"001B","errors":[]}]`
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?><results xmlns="${Wire.NS}"><result><id>001A</id><success>true</success><created>true</created></result><result><errors><fields>Name</fields><message>Required fields are missing: [Name]</message><statusCode>REQUIRED_FIELD_MISSING</statusCode></errors><success>false</success><created>false</created></result><result><id>001B</id><success>true</success><created>false</created></result></results>`
      const expected = [
        { id: "001A", success: true, created: true, errors: [] },
        {
          id: null,
          success: false,
          created: false,
          errors: [{ statusCode: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [Name]", fields: ["Name"] }]
        },
        { id: "001B", success: true, created: false, errors: [] }
      ]
      for (const size of [1, 3, 7, 1000]) {
        expect(yield* collect(Wire.parseBatchResults("CSV", bytes(csv, size)))).toEqual(expected)
        expect(yield* collect(Wire.parseBatchResults("JSON", bytes(json, size)))).toEqual(expected)
        expect(yield* collect(Wire.parseBatchResults("XML", bytes(xml, size)))).toEqual(expected)
      }
    }))

  it("parses the CSV error text form", () => {
    expect(Wire.parseErrorText("DUPLICATE_VALUE:duplicate value found: Code__c duplicates value on record with id: 001xx:--")).toEqual([
      { statusCode: "DUPLICATE_VALUE", message: "duplicate value found: Code__c duplicates value on record with id: 001xx", fields: [] }
    ])
    expect(Wire.parseErrorText("X:a: [A, B]:A__c,B__c --")[0]!.fields).toEqual(["A__c", "B__c"])
    expect(Wire.parseErrorText("")).toEqual([])
  })

  it.effect("query results: JSON without attributes, XML with relationships and nil, CSV empty marker", () =>
    Effect.gen(function*() {
      const json =
        `[{"attributes":{"type":"Contact","url":"/x"},"Id":"003A","Name":"Zo\u00eb \\"Z\\"","CreatedDate":1546659665000,"Account":{"attributes":{},"Name":"Acme"}},{"attributes":{"type":"Contact"},"Id":"003B","Name":null,"CreatedDate":1,"Account":null}]`
      const fromJson = yield* collect(Wire.parseQueryResult("JSON", bytes(json, 5)))
      expect(fromJson).toEqual([
        { Id: "003A", Name: "Zo\u00eb \"Z\"", CreatedDate: 1546659665000, Account: { attributes: {}, Name: "Acme" } },
        { Id: "003B", Name: null, CreatedDate: 1, Account: null }
      ])
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="${Wire.NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><records xsi:type="sObject"><type>Contact</type><Id>003A</Id><Id>003A</Id><Name>A &amp; B</Name><Account xsi:type="sObject"><type>Account</type><Id xsi:nil="true"/><Name>Acme</Name></Account><Email xsi:nil="true"/></records></queryResult>`
      expect(yield* collect(Wire.parseQueryResult("XML", bytes(xml, 4)))).toEqual([
        { Id: "003A", Name: "A & B", "Account.Id": null, "Account.Name": "Acme", Email: null }
      ])
      expect(yield* collect(Wire.parseQueryResult("CSV", bytes("Records not found for this query", 100)))).toEqual([])
      expect(yield* collect(Wire.parseQueryResult("CSV", bytes(`"Id","Name"\n"003A","x"\n`, 2)))).toEqual([{ Id: "003A", Name: "x" }])
    }))

  it.effect("control documents in XML and JSON", () =>
    Effect.gen(function*() {
      const list = yield* Wire.parseInfoList(
        `<batchInfoList xmlns="${Wire.NS}"><batchInfo><id>751A</id><jobId>750A</jobId><state>Failed</state><stateMessage>InvalidBatch : Field name not found : X</stateMessage></batchInfo></batchInfoList>`
      )
      expect(list).toEqual([{ id: "751A", jobId: "750A", state: "Failed", stateMessage: "InvalidBatch : Field name not found : X" }])
      const one = yield* Wire.parseInfoList(`{"batchInfo":{"id":"751A","state":"Queued"}}`)
      expect(one).toHaveLength(1)
      const job = yield* Wire.parseInfo(`{"id":"750A","apiVersion":66.0,"state":"Open"}`, "jobInfo")
      expect(job.apiVersion).toBe("66.0")
      expect(yield* Wire.parseResultIds(`<result-list xmlns="${Wire.NS}"><result>752A</result><result>752B</result></result-list>`))
        .toEqual(["752A", "752B"])
      expect(yield* Wire.parseResultIds(`["752A"]`)).toEqual(["752A"])
    }))

  it.effect("encodes records as JSON and XML batches", () =>
    Effect.gen(function*() {
      const rows = Stream.make({ Name: "A & <B>", Amount: 1.5, Gone: null })
      const text = (ct: string) => Stream.runFold(Wire.encodeRecords(ct, rows, undefined), "", (a, b) => a + new TextDecoder().decode(b))
      expect(JSON.parse(yield* text("JSON"))).toEqual([{ Name: "A & <B>", Amount: 1.5, Gone: null }])
      const xml = yield* text("XML")
      expect(xml).toContain("<sObject><Name>A &amp; &lt;B&gt;</Name><Amount>1.5</Amount><Gone xsi:nil=\"true\"/></sObject>")
      expect(
        JSON.parse(
          yield* Stream.runFold(Wire.encodeRecords("JSON", Stream.empty, undefined), "", (a, b) => a + new TextDecoder().decode(b))
        )
      ).toEqual([])
    }))
})

describe("addBatch when the answer to the POST is lost", () => {
  const JOB = "750000000000001AAA"
  const BATCH = "751000000000001AAA"
  const xml = (root: string, body: string) => `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${Wire.NS}">${body}</${root}>`
  const batchXml = `<batchInfo><id>${BATCH}</id><jobId>${JOB}</jobId><state>Queued</state></batchInfo>`

  /** A fake instance whose first POST stores the batch and then drops the connection (if `arrives`). */
  const fakeInstance = (arrives: boolean, hiddenForLists = 0) => {
    const stored: Array<string> = []
    let posts = 0
    let lists = 0
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const path = url.pathname.replace("/services/async/66.0", "")
        const respond = (body: string) => HttpClientResponse.fromWeb(request, new Response(body, { status: 200 }))
        if (request.method === "GET" && path === `/job/${JOB}`) {
          return respond(
            xml(
              "jobInfo",
              `<id>${JOB}</id><operation>insert</operation><object>Account</object><state>Open</state><contentType>CSV</contentType>`
            )
          )
        }
        if (request.method === "GET" && path === `/job/${JOB}/batch`) {
          // a slow request lands late: the batch shows up only after `hiddenForLists` listings
          return respond(xml("batchInfoList", stored.length > 0 && ++lists > hiddenForLists ? batchXml : ""))
        }
        if (request.method === "GET" && path === `/job/${JOB}/batch/${BATCH}/request`) return respond(stored[0]!)
        if (request.method === "POST" && path === `/job/${JOB}/batch`) {
          posts++
          const body = request.body._tag === "Uint8Array"
            ? new TextDecoder().decode(request.body.body)
            : yield* Stream.runFold(request.body._tag === "Stream" ? request.body.stream : Stream.empty, "", (a, b) =>
              a + new TextDecoder().decode(b as Uint8Array))
          if (posts === 1) {
            if (arrives) {
              stored.push(body)
            }
            return yield* Effect.fail(
              new HttpClientError.RequestError({
                request,
                reason: "Transport",
                cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
              })
            )
          }
          stored.push(body)
          return HttpClientResponse.fromWeb(request, new Response(xml("batchInfo", batchXml.slice(11, -12)), { status: 201 }))
        }
        return HttpClientResponse.fromWeb(request, new Response("", { status: 404 }))
      }) as Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
    )
    const layer = Transport.layer().pipe(
      Layer.provide(Layer.orDie(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: "t" }))),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
    )
    return { layer, posts: () => posts, stored }
  }

  const options = { resendSchedule: Schedule.recurs(3) }

  for (
    const [name, body] of [
      ["a string", "Name\nAcme\n"],
      ["a record stream", Bulk1.records(Stream.make({ Name: "Acme" }))]
    ] as const
  ) {
    it.effect(`finds the batch that arrived instead of posting ${name} twice`, () =>
      Effect.gen(function*() {
        const fake = fakeInstance(true)
        const batch = yield* Bulk1.addBatch(JOB, body, options).pipe(Effect.provide(fake.layer))
        expect(batch.id).toBe(BATCH)
        expect(fake.posts()).toBe(1)
        expect(fake.stored).toEqual(["Name\nAcme\n"])
      }))

    it.effect(`finds ${name} that lands late, on the retry after the backoff, without re-sending`, () =>
      Effect.gen(function*() {
        const fake = fakeInstance(true, 1)
        const batch = yield* Bulk1.addBatch(JOB, body, options).pipe(Effect.provide(fake.layer))
        expect(batch.id).toBe(BATCH)
        expect(fake.posts()).toBe(1)
      }))

    it.effect(`re-sends ${name} when it did not arrive`, () =>
      Effect.gen(function*() {
        const fake = fakeInstance(false)
        const batch = yield* Bulk1.addBatch(JOB, body, options).pipe(Effect.provide(fake.layer))
        expect(batch.id).toBe(BATCH)
        expect(fake.posts()).toBe(2)
        expect(fake.stored).toEqual(["Name\nAcme\n"])
      }))
  }
})

describe("addBatch with identical content in several pieces", () => {
  const JOB = "750000000000003AAA"
  const xml = (root: string, body: string) => `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${Wire.NS}">${body}</${root}>`
  const info = (id: string) => `<id>${id}</id><jobId>${JOB}</jobId><state>Queued</state>`

  it.live("a lost-answer check waits for a POST in flight and never takes the batch that POST made", () =>
    Effect.gen(function*() {
      const aReceived = yield* Deferred.make<void>()
      const releaseA = yield* Deferred.make<void>()
      const bFailed = yield* Deferred.make<void>()
      const stored: Array<{ readonly id: string; readonly body: string }> = []
      let posts = 0
      let lists = 0
      const client = HttpClient.make((request, url) =>
        Effect.gen(function*() {
          const path = url.pathname.replace("/services/async/66.0", "")
          const respond = (body: string, status = 200) => HttpClientResponse.fromWeb(request, new Response(body, { status }))
          if (request.method === "GET" && path === `/job/${JOB}`) {
            return respond(
              xml(
                "jobInfo",
                `<id>${JOB}</id><operation>insert</operation><object>Account</object><state>Open</state><contentType>CSV</contentType>`
              )
            )
          }
          if (request.method === "GET" && path === `/job/${JOB}/batch`) {
            lists++
            return respond(xml("batchInfoList", stored.map((b) => `<batchInfo>${info(b.id)}</batchInfo>`).join("")))
          }
          const asked = /^\/job\/\w+\/batch\/(\w+)\/request$/.exec(path)
          if (request.method === "GET" && asked) return respond(stored.find((b) => b.id === asked[1])!.body)
          if (request.method === "POST" && path === `/job/${JOB}/batch`) {
            const n = ++posts
            const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
            if (n === 2) {
              // piece B: reset before anything was stored
              yield* Deferred.succeed(bFailed, undefined)
              return yield* Effect.fail(
                new HttpClientError.RequestError({
                  request,
                  reason: "Transport",
                  cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
                })
              )
            }
            const id = `751000000000${String(stored.length + 1).padStart(3, "0")}AAA`
            stored.push({ id, body })
            if (n === 1) {
              // piece A: stored, answer held back until the test lets it go
              yield* Deferred.succeed(aReceived, undefined)
              yield* Deferred.await(releaseA)
            }
            return respond(xml("batchInfo", info(id)), 201)
          }
          return respond("", 404)
        }) as Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
      )
      const layer = Transport.layer().pipe(
        Layer.provide(Layer.orDie(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: "t" }))),
        Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
      )
      yield* Effect.gen(function*() {
        const same = "Name\nSame\n"
        const options = { resendSchedule: Schedule.recurs(3) }
        const a = yield* Effect.fork(Bulk1.addBatch(JOB, same, options))
        yield* Deferred.await(aReceived)
        const b = yield* Effect.fork(Bulk1.addBatch(JOB, same, options))
        yield* Deferred.await(bFailed)
        // B's check must not list the job's batches while A's POST is in flight
        yield* Effect.sleep("200 millis")
        expect(lists).toBe(0)
        yield* Deferred.succeed(releaseA, undefined)
        const [batchA, batchB] = [yield* Fiber.join(a), yield* Fiber.join(b)]
        expect(batchA.id).toBe(stored[0]!.id)
        expect(batchB.id).not.toBe(batchA.id)
        expect(stored.map((x) => x.id)).toEqual([batchA.id, batchB.id])
        expect(posts).toBe(3)
      }).pipe(Effect.provide(layer))
    }))
})

describe("the job-level batch watcher", () => {
  it.live("two waits on one batch are both completed (one was left unsettled forever)", () =>
    Effect.gen(function*() {
      const JOB = "750000000000004AAA"
      const BATCH = "751000000000004AAA"
      let polls = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() =>
          HttpClientResponse.fromWeb(
            request,
            new Response(
              `<batchInfoList xmlns="${Wire.NS}"><batchInfo><id>${BATCH}</id><jobId>${JOB}</jobId><state>${
                ++polls < 3 ? "Queued" : "Completed"
              }</state></batchInfo></batchInfoList>`,
              { status: 200 }
            )
          )
        )
      )
      const layer = Transport.layer().pipe(
        Layer.provide(Layer.orDie(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: "t" }))),
        Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
      )
      const both = yield* Effect.scoped(Effect.gen(function*() {
        const watch = yield* BatchWatch.make(JOB, { pollSchedule: Schedule.spaced("10 millis") }, () => {})
        return yield* Effect.all([watch.wait(BATCH), watch.wait(BATCH)], { concurrency: "unbounded" })
      })).pipe(Effect.provide(layer), Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("a wait never settled") }))
      expect(both.map((b) => b.state)).toEqual(["Completed", "Completed"])
    }))
})

describe("waiting on a Schedule (TestClock)", () => {
  const JOB = "750000000000002AAA"
  const BATCH = "751000000000002AAA"
  /** A batch that reports the given states, one per poll (the last one repeats). */
  const polled = (states: ReadonlyArray<string>) => {
    let polls = 0
    const client = HttpClient.make((request) =>
      Effect.sync(() => {
        const state = states[Math.min(polls++, states.length - 1)]
        return HttpClientResponse.fromWeb(
          request,
          new Response(
            `<batchInfo xmlns="${Wire.NS}"><id>${BATCH}</id><jobId>${JOB}</jobId><state>${state}</state><stateMessage>InvalidBatch : Field name not found : Foo</stateMessage></batchInfo>`,
            { status: 200 }
          )
        )
      })
    )
    const layer = Transport.layer().pipe(
      Layer.provide(Layer.orDie(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: "t" }))),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
    )
    return { layer, polls: () => polls }
  }

  it.effect("the default schedule polls at 500 ms growing by 1.5x", () =>
    Effect.gen(function*() {
      const fake = polled(["Queued", "InProgress", "InProgress", "Completed"])
      const fiber = yield* Effect.fork(Bulk1.waitForBatch(JOB, BATCH).pipe(Effect.provide(fake.layer)))
      yield* TestClock.adjust("499 millis")
      expect(fake.polls()).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(fake.polls()).toBe(2)
      yield* TestClock.adjust("750 millis") // 500 * 1.5
      expect(fake.polls()).toBe(3)
      yield* TestClock.adjust("1125 millis")
      const info = yield* Fiber.join(fiber)
      expect(info.state).toBe("Completed")
      expect(fake.polls()).toBe(4)
    }))

  it.effect("a timeout fails with PollTimeoutError carrying the ids; a Failed batch with BatchFailedError", () =>
    Effect.gen(function*() {
      const slow = polled(["Queued"])
      const fiber = yield* Effect.fork(Effect.flip(
        Bulk1.waitForBatch(JOB, BATCH, { timeout: "1 minute", schedule: Schedule.spaced("1 second") }).pipe(Effect.provide(slow.layer))
      ))
      yield* TestClock.adjust("61 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "PollTimeoutError", jobId: JOB, batchId: BATCH, timeoutMillis: 60_000 })
      expect(slow.polls()).toBeGreaterThanOrEqual(60)
      const failed = polled(["InProgress", "Failed"])
      const f2 = yield* Effect.fork(Effect.flip(Bulk1.waitForBatch(JOB, BATCH).pipe(Effect.provide(failed.layer))))
      yield* TestClock.adjust("1 second")
      const e2 = yield* Fiber.join(f2)
      expect(e2).toMatchObject({ _tag: "BatchFailedError", batchId: BATCH })
      expect(e2.message).toContain("Field name not found : Foo")
    }))
})
