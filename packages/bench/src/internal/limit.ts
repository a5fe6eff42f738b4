/**
 * The server-bound limit of a realistic-org workload: when the org could finish its batches at best.
 */

/**
 * When the last of `batches` (their record counts, in the order the org queues them) finishes, ms,
 * each running at `rate` records per second in the first of `slots` parallel slots to come free
 * (the emulator's FIFO slot queue; Infinity = unlimited). Exact for full batches and for a short
 * last batch alike: waves of full batches would charge a short last batch a full batch's time.
 */
export const makespanMs = (batches: ReadonlyArray<number>, slots: number, rate: number): number => {
  if (rate <= 0 || batches.length === 0) return 0
  const free: Array<number> = new Array<number>(Math.max(1, Math.min(slots, batches.length))).fill(0)
  for (const records of batches) {
    let i = 0
    for (let k = 1; k < free.length; k++) if (free[k]! < free[i]!) i = k
    free[i] = free[i]! + (records / rate) * 1000
  }
  return Math.max(...free)
}

/** `rows` cut into batches of `size` records (the last one shorter). */
export const cutBatches = (rows: number, size: number): Array<number> =>
  Array.from({ length: Math.ceil(rows / size) }, (_, k) => Math.min(size, rows - k * size))
