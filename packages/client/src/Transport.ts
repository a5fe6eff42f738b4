/**
 * `Transport`: the HTTP layer under `Bulk1`, `Bulk2` and `BulkClient`. It signs each request with
 * the `SalesforceAuth` session, renews an expired session once and replays, retries transient
 * failures on a replaceable `Schedule` within a time budget, gzips uploads on request, and turns
 * every non-2xx answer into a typed `BulkError`. Its requests fail at once (`TransportError` with
 * `clientClosed`) once the layer that built it is released.
 *
 * @example
 * import { BulkClient, Transport } from "@sfbulk/client"
 * const layer = BulkClient.layerConfig({ timeout: "5 minutes", retrySchedule: Transport.defaultRetrySchedule({ maxRetries: 3 }) })
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/transport.js"
import type { SalesforceAuth } from "./internal/session.js"

export {
  /**
   * The transport service tag.
   *
   * @since 0.2.0
   * @category tags
   */
  Transport
} from "./internal/transport.js"

/**
 * The transport service: the API version, and requests sent with retries (`request`) or sent and
 * read as one attempt (`execute`).
 *
 * @since 0.2.0
 * @category models
 */
export type Service = internal.Transport["Type"]

/**
 * A request relative to the session's instance (method, path, API generation, body, job/batch ids
 * carried into errors and spans).
 *
 * @since 0.2.0
 * @category models
 */
export type Request = internal.TransportRequest

/**
 * Options of the transport: `retrySchedule`, per-attempt `timeout`, total `budget` of a request,
 * `idleTimeout` while a body is read, `gzipRequests`, and `callOptionsClient`.
 *
 * @since 0.2.0
 * @category models
 */
export type Options = internal.TransportOptions

/**
 * The default retry policy: exponential backoff with equal jitter, honouring Retry-After, at most
 * `maxRetries` (8) retries within a total `budget` (2 minutes).
 *
 * @since 0.2.0
 * @category retries
 */
export const defaultRetrySchedule = internal.defaultRetrySchedule

/**
 * Builds the transport from `SalesforceAuth` and an `HttpClient`. Scoped: when its scope closes,
 * every later request fails at once with a `TransportError` whose `clientClosed` is true.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, never, SalesforceAuth | HttpClient.HttpClient | Scope.Scope> = internal.make

/**
 * The transport on the `HttpClient` and `SalesforceAuth` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<internal.Transport, never, SalesforceAuth | HttpClient.HttpClient> = internal.layer
