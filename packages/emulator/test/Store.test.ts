import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeBase62, IdGenerator, to18 } from "../src/internal/ids.js"
import { hashKey, KeyIndex } from "../src/internal/store.js"

/** The index's answer for a hash as a sorted list (a number or a set of slots). */
const slotsOf = (index: KeyIndex, hash: number): Array<number> => {
  const hit = index.get(hash)
  return hit === undefined ? [] : typeof hit === "number" ? [hit] : [...hit].sort((a, b) => a - b)
}

describe("lookup index", () => {
  it("answers like a map of sets through adds, removes, collisions and rebuilds", () => {
    fc.assert(
      fc.property(
        // Few distinct hashes (many rows share one) or many (the table rebuilds several times).
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat({ max: 3000 })), { minLength: 1, maxLength: 4000 }),
        (spread, ops) => {
          const index = new KeyIndex()
          const model = new Map<number, Set<number>>()
          for (const [add, h, slot] of ops) {
            const hash = (h % spread) * 7919 - 1000
            if (add) {
              index.add(hash, slot)
              if (!model.has(hash)) model.set(hash, new Set())
              model.get(hash)!.add(slot)
            } else {
              index.remove(hash, slot)
              model.get(hash)?.delete(slot)
              if (model.get(hash)?.size === 0) model.delete(hash)
            }
          }
          for (let h = 0; h < spread; h++) {
            const hash = h * 7919 - 1000
            expect(slotsOf(index, hash)).toEqual([...(model.get(hash) ?? [])].sort((a, b) => a - b))
          }
        }
      ),
      { numRuns: 60 }
    )
  })

  it("keys text case-insensitively, so equal values always meet", () => {
    expect(hashKey("EXT-42")).toBe(hashKey("ext-42"))
    expect(hashKey("Ärger-Ü")).toBe(hashKey("ärger-ü"))
    expect(hashKey(42)).toBe(hashKey("42"))
    // Neighbouring keys differ (they only sit next to each other in the table).
    expect(new Set(Array.from({ length: 1000 }, (_, i) => hashKey(`EXT-${i}`))).size).toBe(1000)
  })

  it("reserving room first changes no answer", () => {
    const index = new KeyIndex()
    for (let i = 0; i < 3000; i++) index.add(hashKey(`EXT-${i}`), i)
    index.reserve(100_000)
    for (let i = 3000; i < 6000; i++) index.add(hashKey(`EXT-${i}`), i)
    for (let i = 0; i < 6000; i++) expect(slotsOf(index, hashKey(`ext-${i}`))).toContain(i)
  })
})

describe("id generator", () => {
  it("counts in base 62 with the checksum of each id, across digit carries", () => {
    const gen = new IdGenerator("5g0")
    for (let n = 1; n <= 4000; n++) {
      const id15 = gen.next15("001")
      expect(id15).toBe(`0015g0${encodeBase62(n, 9)}`)
      expect(gen.last18("001")).toBe(to18(id15))
    }
  })
})
