/**
 * Contract between the HTTP server (`server.ts`, which owns routing, auth, gzip, faults) and the API
 * handlers (`bulk1/`, `bulk2/`). The server authenticates the request before a handler runs and
 * answers auth failures in the API's own format.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Readable } from "node:stream"
import type { OrgApi } from "./model.js"
import type { Processing } from "./processing.js"

/** Knobs fixed when the emulator starts. */
export interface EmulatorSettings {
  /** Milliseconds a batch (1.0) or job (2.0) waits in Queued/UploadComplete before processing. */
  readonly latencyMs: number
  /** Default rows per 2.0 query results page (when `maxRecords` is absent). */
  readonly pageSize: number
  /** Rows per 1.0 query result file: a larger result is split into several result ids. */
  readonly resultFileRows: number
  /** Rows processed between event-loop yields, so the server stays responsive. */
  readonly processingChunk: number
  /** Count a PK-chunked original batch (`NotProcessed`) in its job's `numberBatchesTotal`. */
  readonly pkChunkingCountsOriginal: boolean
}

/** Deterministic fault decisions that belong to the API layers. */
export interface HandlerFaults {
  /** True when the next batch (1.0) or job (2.0) should fail as a whole (`batch-fail` rate). */
  batchFail(): boolean
}

/** The authenticated caller. */
export interface SessionInfo {
  readonly userId: string
  readonly orgId: string
}

/** Everything a handler needs for one request. */
export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly method: string
  /** Path segments after the API prefix, trailing slash removed: `["job", "750...", "batch"]`. */
  readonly segments: ReadonlyArray<string>
  readonly query: URLSearchParams
  /** API version from the URL, without `v`: `"66.0"`. */
  readonly version: string
  readonly session: SessionInfo
  /** Request body, gunzipped when `Content-Encoding: gzip`. */
  readBody(): Promise<Buffer>
  /** Request body as a stream, gunzipped when needed (for large uploads). */
  bodyStream(): Readable
  /** Send a complete answer; gzipped when the client accepts gzip. */
  send(status: number, contentType: string | undefined, body: string | Buffer, headers?: Record<string, string>): void
  /** Stream an answer chunk by chunk (back-pressure respected); gzipped when accepted. */
  sendStream(
    status: number,
    contentType: string,
    body: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
    headers?: Record<string, string>
  ): Promise<void>
}

/** State shared by every handler of one emulator instance. */
export interface EmulatorState {
  readonly org: OrgApi
  readonly settings: EmulatorSettings
  readonly faults: HandlerFaults
  /** The processing model: pacing, parallel slots, record locks, daily allocations. */
  readonly processing: Processing
  /** Current time in ms (the emulator's clock). */
  now(): number
  /** A new 18-character id with the given key prefix (`750` job, `751` batch, `752` result). */
  newId(prefix: string): string
}

/** A handler for one API family; resolves once the answer has been sent. */
export type Handler = (ctx: RequestContext, state: EmulatorState) => Promise<void>
