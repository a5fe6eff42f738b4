// TEMPORARY placeholder until Bulk1.ts lands (replaced by the real 1.0 pipeline).
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as BulkClient from "../BulkClient.js"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import type { Transport } from "./transport.js"
export const ingest1 = <A, E, R>(_: {
  readonly object: string
  readonly operation: BulkClient.Operation
  readonly externalIdFieldName?: string | undefined
  readonly rows: Stream.Stream<A, E, R>
  readonly options: BulkClient.IngestOptions<A>
}): Effect.Effect<BulkClient.Outcome, BulkError | E, R | Transport> => Effect.fail(new InvalidInputError({ what: "Bulk API 1.0 support is not wired yet" }))
