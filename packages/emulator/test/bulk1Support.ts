/** Support for the Bulk 1.0 protocol tests: starting an emulator, building zips. */
import { deflateRawSync } from "node:zlib"
import * as Emulator from "../src/Emulator.js"

export interface Started {
  readonly instanceUrl: string
  readonly accessToken: string
  /** An External ID field of Account in the default org. */
  readonly externalIdField: string
  readonly handle: Emulator.EmulatorHandle
  stop(): Promise<void>
}

/** Start an emulator on a free port. */
export const startEmulator = async (options: Emulator.EmulatorOptions): Promise<Started> => {
  const handle = await Emulator.start(options)
  return {
    instanceUrl: handle.instanceUrl,
    accessToken: handle.accessToken,
    externalIdField: "ExternalId__c",
    handle,
    stop: () => handle.close()
  }
}

/** A zip archive (deflated entries) built in memory, for ZIP_* batch tests. */
export const makeZip = (files: Record<string, string | Buffer>): Buffer => {
  const local: Array<Buffer> = []
  const central: Array<Buffer> = []
  let offset = 0
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content)
    const packed = deflateRawSync(data)
    const nameBuf = Buffer.from(name)
    const crc = crc32(data)
    const head = Buffer.alloc(30)
    head.writeUInt32LE(0x04034b50, 0)
    head.writeUInt16LE(20, 4)
    head.writeUInt16LE(8, 8)
    head.writeUInt32LE(crc, 14)
    head.writeUInt32LE(packed.length, 18)
    head.writeUInt32LE(data.length, 22)
    head.writeUInt16LE(nameBuf.length, 26)
    local.push(head, nameBuf, packed)
    const cen = Buffer.alloc(46)
    cen.writeUInt32LE(0x02014b50, 0)
    cen.writeUInt16LE(20, 4)
    cen.writeUInt16LE(20, 6)
    cen.writeUInt16LE(8, 10)
    cen.writeUInt32LE(crc, 16)
    cen.writeUInt32LE(packed.length, 20)
    cen.writeUInt32LE(data.length, 24)
    cen.writeUInt16LE(nameBuf.length, 28)
    cen.writeUInt32LE(offset, 42)
    central.push(cen, nameBuf)
    offset += head.length + nameBuf.length + packed.length
  }
  const cd = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Object.keys(files).length, 8)
  end.writeUInt16LE(Object.keys(files).length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...local, cd, end])
}

const crc32 = (buf: Buffer): number => {
  let c = 0xffffffff
  for (const byte of buf) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}
