/**
 * Minimal ZIP reader for ZIP_* batches (binary attachments): the central directory, stored and
 * deflated entries. Enough for `request.txt` plus attachments; no encryption, no ZIP64.
 */
import { inflateRawSync } from "node:zlib"
import { BatchFailure } from "./records.js"

/** Binary attachment limits (doc). */
export const ZIP_LIMITS = { files: 1_000, uncompressedBytes: 20_000_000, nameBytes: 512 } as const

const bad = (detail: string) => new BatchFailure(`InvalidBatch : ${detail}`)

/** Read every file entry (directories skipped) of a zip archive. */
export const readZip = (buf: Buffer): Map<string, Buffer> => {
  const min = Math.max(0, buf.length - 22 - 0xffff)
  let eocd = -1
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw bad("Failed to read zip: the batch is not a valid zip archive")
  const count = buf.readUInt16LE(eocd + 10)
  let p = buf.readUInt32LE(eocd + 16)
  const files = new Map<string, Buffer>()
  let total = 0
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw bad("Failed to read zip: corrupt central directory")
    const method = buf.readUInt16LE(p + 10)
    const compSize = buf.readUInt32LE(p + 20)
    const size = buf.readUInt32LE(p + 24)
    const nameLen = buf.readUInt16LE(p + 28)
    const extraLen = buf.readUInt16LE(p + 30)
    const commentLen = buf.readUInt16LE(p + 32)
    const local = buf.readUInt32LE(p + 42)
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString("utf8")
    p += 46 + nameLen + extraLen + commentLen
    if (name.endsWith("/")) continue
    if (nameLen > ZIP_LIMITS.nameBytes) throw bad(`File name in zip is longer than ${ZIP_LIMITS.nameBytes} bytes: ${name.slice(0, 60)}...`)
    if (files.size + 1 > ZIP_LIMITS.files) throw bad(`The zip holds more than ${ZIP_LIMITS.files} files`)
    total += size
    if (total > ZIP_LIMITS.uncompressedBytes) {
      throw bad(`The total decompressed size of the zip exceeds ${ZIP_LIMITS.uncompressedBytes} bytes`)
    }
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw bad(`Failed to read zip entry ${name}`)
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28)
    const raw = buf.subarray(start, start + compSize)
    let data: Buffer
    if (method === 0) data = raw
    else if (method === 8) {
      try {
        data = inflateRawSync(raw)
      } catch {
        throw bad(`Failed to decompress zip entry ${name}`)
      }
    } else throw bad(`Unsupported compression method ${method} for zip entry ${name}`)
    files.set(name.replace(/^\.\//, ""), data)
  }
  return files
}
