/**
 * The public layers: `BulkClient.layer` / `layerConfig` called with the transport's options, and
 * used as values as 0.1 code did (both are layers); the `Transport` module's own layer.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as BulkClient from "../src/BulkClient.js"
import type { AuthenticationError } from "../src/BulkError.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import * as Transport from "../src/Transport.js"
import * as Bulk1 from "../src/Bulk1.js"
import * as Bulk2 from "../src/Bulk2.js"

const auth = SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: Redacted.make("t") })
const http = Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.die("no request expected")))

describe("layers", () => {
  it.effect("BulkClient.layer works as a value (0.1) and called with transport options", () =>
    Effect.gen(function*() {
      expect(Layer.isLayer(BulkClient.layer)).toBe(true)
      expect(Layer.isLayer(BulkClient.layerConfig)).toBe(true)
      for (const layer of [BulkClient.layer, BulkClient.layer(), BulkClient.layer({ timeout: "5 minutes", gzipRequests: true })]) {
        const client = yield* Effect.provide(BulkClient.BulkClient, layer.pipe(Layer.provide(auth), Layer.provide(http)))
        expect(typeof client.insert).toBe("function")
      }
      expectTypeOf(BulkClient.layer).toMatchTypeOf<
        Layer.Layer<BulkClient.BulkClient, never, SalesforceAuth.SalesforceAuth | HttpClient.HttpClient>
      >()
      expectTypeOf(BulkClient.layerConfig({ budget: "1 minute" })).toEqualTypeOf<
        Layer.Layer<BulkClient.BulkClient, AuthenticationError | ConfigError.ConfigError, never>
      >()
    }))

  it.effect("BulkClient.layerConfig(options) reads the session from the environment", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(new Map([["SF_INSTANCE_URL", "https://acme.my.salesforce.com"], ["SF_ACCESS_TOKEN", "t"]]))
      const client = yield* Effect.provide(BulkClient.BulkClient, BulkClient.layerConfig({ timeout: "1 minute" })).pipe(
        Effect.withConfigProvider(provider)
      )
      expect(typeof client.query).toBe("function")
    }))

  it.effect("Transport.layer is the one transport: the tag Bulk1 and Bulk2 functions need", () =>
    Effect.gen(function*() {
      const t = yield* Effect.provide(
        Transport.Transport,
        Transport.layer({ retrySchedule: Transport.defaultRetrySchedule({ maxRetries: 1 }) }).pipe(Layer.provide(auth), Layer.provide(http))
      )
      expect(t.apiVersion).toBe(SalesforceAuth.defaultApiVersion)
      // the deprecated 0.x aliases are the same tag
      expect(Bulk1.Transport).toBe(Transport.Transport)
      expect(Bulk2.Transport).toBe(Transport.Transport)
    }))
})
