/**
 * Progress of one high-level operation, reported through the caller's `onProgress` callback each
 * time something moves (rows read, a piece uploaded, a poll answer, a job finished).
 */

/** A snapshot of an operation's progress. */
export interface Progress {
  /** Rows read from the input and encoded so far. */
  readonly rowsRead: number
  /** Rows whose job (2.0) or batch (1.0) has been uploaded. */
  readonly rowsUploaded: number
  /** Records Salesforce reports as processed (succeeded + failed), over every job/batch. */
  readonly recordsProcessed: number
  /** Records Salesforce reports as failed, over every job/batch. */
  readonly recordsFailed: number
  /** Jobs (2.0) or batches (1.0) submitted so far. */
  readonly piecesSubmitted: number
  /** Jobs (2.0) or batches (1.0) finished so far. */
  readonly piecesDone: number
  /** The job/batch the latest event was about, and its state. */
  readonly last?: { readonly jobId: string; readonly batchId?: string | undefined; readonly state: string } | undefined
}

/** Mutable tracker behind the callback. */
export const tracker = (onProgress: ((p: Progress) => void) | undefined) => {
  let rowsRead = 0
  let rowsUploaded = 0
  let piecesSubmitted = 0
  let piecesDone = 0
  const processed = new Map<string, { processed: number; failed: number }>()
  let last: Progress["last"]
  const emit = () => {
    if (!onProgress) return
    let p = 0
    let f = 0
    for (const v of processed.values()) {
      p += v.processed
      f += v.failed
    }
    onProgress({ rowsRead, rowsUploaded, recordsProcessed: p, recordsFailed: f, piecesSubmitted, piecesDone, last })
  }
  return {
    read: (n: number) => {
      rowsRead += n
      emit()
    },
    uploaded: (jobId: string, rows: number, batchId?: string) => {
      rowsUploaded += rows
      piecesSubmitted++
      last = { jobId, batchId, state: "Uploaded" }
      emit()
    },
    polled: (jobId: string, state: string, counts: { processed: number; failed: number }, batchId?: string) => {
      processed.set(batchId ?? jobId, counts)
      last = { jobId, batchId, state }
      emit()
    },
    done: (jobId: string, state: string, batchId?: string) => {
      piecesDone++
      last = { jobId, batchId, state }
      emit()
    }
  }
}

/** The tracker's type. */
export type Tracker = ReturnType<typeof tracker>
