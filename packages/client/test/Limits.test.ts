import { describe, expect, it } from "@effect/vitest"
import * as Limits from "../src/Limits.js"

describe("Limits", () => {
  it("keeps every limit with Max and Remaining, per-app breakdowns included, and leaves out other shapes", () => {
    // shaped like the REST API Limits resource's answer (resources_limits.htm)
    const limits = Limits.fromJson({
      DailyApiRequests: { Max: 15000, Remaining: 14998, "Ant Migration Tool": { Max: 0, Remaining: 0 } },
      DailyBulkV2QueryJobs: { Max: 10000, Remaining: 9990 },
      SomethingNew: { Quota: "unlimited" }
    })
    expect(Object.keys(limits)).toEqual(["DailyApiRequests", "DailyBulkV2QueryJobs"])
    expect(limits["DailyApiRequests"]).toMatchObject({ Max: 15000, Remaining: 14998 })
    expect(limits["DailyApiRequests"]!["Ant Migration Tool"]).toEqual({ Max: 0, Remaining: 0 })
    expect(Limits.bulkRelevant).toEqual([
      "DailyApiRequests",
      "DailyBulkApiBatches",
      "DailyBulkV2QueryJobs",
      "DailyBulkV2QueryFileStorageMB"
    ])
  })
})
