/**
 * Bytes held in buffers of the reader's own, handed back to the system the moment they are used
 * no more instead of when V8 gets to them. Why: bytes that wait (a page downloaded ahead of its
 * turn) outlive V8's young-generation collections, so their buffers are promoted, and a promoted
 * buffer's memory (outside V8's heap) is freed only at a full GC, which V8 starts once some 64 MB
 * of such memory piled up.
 */

/**
 * Gives back the memory of `bytes` now (its buffer detached: every view of it reads as empty
 * from then on). Only for a buffer that is the view's own (not a slice of another) and that
 * nothing reads any more. `ArrayBuffer.prototype.transfer` (Node 21+); on older Node
 * `structuredClone` moves the memory to a young buffer that the next minor GC frees.
 * (Used by ingest1 for batch bodies once added and result bytes once parsed.)
 */
export const freeNow = (bytes: Uint8Array): void => {
  const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }
  if (!(buffer instanceof ArrayBuffer) || bytes.byteOffset !== 0 || buffer.byteLength !== bytes.byteLength) return
  if (typeof buffer.transfer === "function") buffer.transfer(0)
  else structuredClone(buffer, { transfer: [buffer] })
}

/**
 * A growing buffer of its own that pieces are copied into as they come: the pieces (views of the
 * socket's reads) die young, and the whole is one buffer `freeNow` can hand back. It doubles as
 * it fills, each outgrown buffer handed back at once.
 */
export class OwnedBytes {
  private buffer: Uint8Array
  private length = 0

  constructor(initial = 64 * 1024) {
    this.buffer = new Uint8Array(initial)
  }

  /** Appends a copy of `piece`. */
  push(piece: Uint8Array): void {
    if (this.length + piece.length > this.buffer.length) {
      let size = this.buffer.length * 2
      while (size < this.length + piece.length) size *= 2
      const grown = new Uint8Array(size)
      grown.set(this.buffer.subarray(0, this.length))
      freeNow(this.buffer)
      this.buffer = grown
    }
    this.buffer.set(piece, this.length)
    this.length += piece.length
  }

  /** Bytes held. */
  get size(): number {
    return this.length
  }

  /**
   * `piece` as the bytes from `at` of the same data read again (a download fetched again whole):
   * where it overlaps the bytes held it is compared with them, not copied; where they differ, the
   * bytes held end there and the piece's are kept instead. Returns the position after the piece.
   */
  again(at: number, piece: Uint8Array): number {
    const common = Math.min(piece.length, this.length - at)
    if (common > 0) {
      if (Buffer.compare(this.buffer.subarray(at, at + common), piece.subarray(0, common)) === 0) {
        if (common < piece.length) this.push(piece.subarray(common))
        return at + piece.length
      }
      this.length = at
    }
    this.push(piece)
    return at + piece.length
  }

  /** Keeps only the first `n` bytes held. */
  truncate(n: number): void {
    if (n < this.length) this.length = n
  }

  /** The bytes, in a buffer of their own and their exact size (this is left empty). */
  take(): Uint8Array {
    const full = this.buffer
    const n = this.length
    this.buffer = new Uint8Array(0)
    this.length = 0
    if (n === full.length) return full
    const resizable = full.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }
    // transfer(n) shrinks in place where it can (Node 21+); else a copy, the big one handed back
    if (typeof resizable.transfer === "function") return new Uint8Array(resizable.transfer(n))
    const exact = full.slice(0, n)
    freeNow(full)
    return exact
  }

  /** Hands the bytes back (a download that failed). */
  free(): void {
    freeNow(this.buffer)
    this.buffer = new Uint8Array(0)
    this.length = 0
  }
}
