import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // a private TMPDIR per run, removed at its end (test/privateTmpdir.ts)
    globalSetup: ["./test/privateTmpdir.ts"]
  }
})
