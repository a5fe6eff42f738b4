import { Emulator } from "/work/main/packages/emulator/src/index.js"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
const emu = await Emulator.start({ latencyMs: 5 })
for (const [name, layer] of [["undici", NodeHttpClient.layerUndici], ["fetch", FetchHttpClient.layer]] as const) {
  const r = await Effect.runPromise(Effect.gen(function*() {
    const c = yield* HttpClient.HttpClient
    const res = yield* c.execute(HttpClientRequest.get(`${emu.instanceUrl}/services/async/66.0/job/7505g0000000001AAA`).pipe(
      HttpClientRequest.setHeaders({ "x-sfdc-session": emu.accessToken, "accept-encoding": "gzip" })))
    const buf = new Uint8Array(yield* res.arrayBuffer)
    return { enc: res.headers["content-encoding"], first: Array.from(buf.slice(0, 2)), len: buf.length }
  }).pipe(Effect.provide(layer)))
  console.log(name, JSON.stringify(r))
}
await emu.close()
