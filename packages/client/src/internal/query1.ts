// TEMPORARY placeholder until Bulk1.ts lands.
import * as Stream from "effect/Stream"
import type * as BulkClient from "../BulkClient.js"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import type { Transport } from "./transport.js"
export const query1 = (_s: string, _a: boolean, _o: BulkClient.QueryOptions<any>): Stream.Stream<BulkClient.QueryRow, BulkError, Transport> =>
  Stream.fail(new InvalidInputError({ what: "Bulk API 1.0 support is not wired yet" }))
