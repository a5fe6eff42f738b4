/**
 * `Describe`: an object's fields read from the emulator's sObject Describe resource over real HTTP,
 * Schema-decoded, with typed errors; and the helpers that fit relationship headers to the object.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Describe, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<Transport.Transport>

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 0,
    data: {
      objects: [{
        name: "Visit__c",
        keyPrefix: "a07",
        fields: [{ name: "Who__c", type: "reference", referenceTo: ["Contact", "Lead"], relationshipName: "Who__r" }]
      }]
    }
  })
  layer = Transport.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, Transport.Transport>) => Effect.runPromise(Effect.provide(effect, layer))

describe("Describe", () => {
  it("reads the object's fields with their types, one API request", () =>
    run(Effect.gen(function*() {
      const before = emu.stats().usage.apiRequests
      const d = yield* Describe.sObject("Opportunity")
      expect(emu.stats().usage.apiRequests).toBe(before + 1)
      expect(d.name).toBe("Opportunity")
      expect(Describe.field(d, "closedate")).toMatchObject({ name: "CloseDate", type: "date", nillable: false, createable: true })
      expect(Describe.field(d, "CreatedDate")).toMatchObject({ type: "datetime", createable: false })
      expect(Describe.field(d, "AccountId")).toMatchObject({ type: "reference", referenceTo: ["Account"], relationshipName: "Account" })
      expect(Describe.field(d, "Nope__c")).toBeUndefined()
    })))

  it("an unknown object is a typed InvalidInputError naming it", () =>
    run(Effect.gen(function*() {
      const e = yield* Effect.flip(Describe.sObject("Nope__c"))
      expect(e._tag).toBe("InvalidInputError")
      expect(e.message).toContain("no object named Nope__c")
    })))

  it("keeps an object type in a relationship header only for a polymorphic lookup", () =>
    run(Effect.gen(function*() {
      const account = yield* Describe.sObject("Account")
      expect(Describe.header(account, "Account:Parent.ExternalId__c")).toBe("Parent.ExternalId__c")
      expect(Describe.header(account, "Name")).toBe("Name")
      const visit = yield* Describe.sObject("Visit__c")
      expect(Describe.isPolymorphic(Describe.relationship(visit, "who__r")!)).toBe(true)
      expect(Describe.header(visit, "Lead:Who__r.Email")).toBe("Lead:Who__r.Email")
      expect(Describe.checkColumn(visit, "Who__r.Email")).toMatch(/Contact or Lead: name the object, e\.g\. Contact:Who__r\.Email/)
      expect(Describe.checkColumn(visit, "Account:Who__r.Email")).toMatch(/not Account/)
      expect(Describe.checkColumn(account, "Nmae")).toMatch(/Account has no field named Nmae/)
      expect(Describe.checkColumn(account, "Owner.Username")).toBeUndefined()
      expect(Describe.checkColumn(account, "OwnerId.Username")).toMatch(/no relationship named OwnerId/)
    })))
})
