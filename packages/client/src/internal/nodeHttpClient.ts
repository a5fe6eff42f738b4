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

/**
 * `NodeHttpClient.layerUndici`, its module imported when the layer is built. A module that cannot
 * be loaded is a broken install, not an error a program handles (as it was when the module was
 * imported with the client): the layer dies, its message saying what to do.
 */
export const layerUndici: Layer.Layer<HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.tryPromise({
    try: () => import("@effect/platform-node/NodeHttpClient"),
    catch: (e) =>
      new Error(
        `sfbulk: cannot load @effect/platform-node/NodeHttpClient, the HTTP client of the default layers ` +
          `(${e instanceof Error ? e.message : String(e)}). Install @effect/platform-node (a dependency of ` +
          `@sfbulk/client), or build BulkClient.layer() / Transport.layer() over an HttpClient layer of your own`
      )
  }).pipe(Effect.orDie, Effect.map((m) => m.layerUndici))
)
