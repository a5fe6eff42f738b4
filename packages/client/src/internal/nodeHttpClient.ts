/**
 * `@effect/platform-node`'s undici `HttpClient` layer, loaded when a layer that needs it is built.
 * Importing `@effect/platform-node/NodeHttpClient` loads undici and the rest of the Node platform
 * (about 20 MB of RSS, 5 MB of heap and 100-200 ms on Node 22), which a program that provides its
 * own `HttpClient` (`FetchHttpClient.layer`, say) to `BulkClient.layer()` never uses: the default
 * layers (`BulkClient.layerConfig`, `Bulk2.layer`, `Bulk1.layer`) import it on first build instead.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** `NodeHttpClient.layerUndici`, its module imported when the layer is built. */
export const layerUndici: Layer.Layer<HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (m) => m.layerUndici)
)
