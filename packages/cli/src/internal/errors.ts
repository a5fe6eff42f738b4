/**
 * The CLI's own failures (beside the client's `BulkError`s): a command line that cannot run, and an
 * operation that finished with rows failed or unprocessed.
 */
import * as Data from "effect/Data"

/** The command line is wrong in a way the parser cannot see (a flag combination, a bad value). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The operation ran, but some rows failed or were not processed (exit code 3). */
export class RowsFailed extends Data.TaggedError("RowsFailed")<{ readonly message: string }> {}
