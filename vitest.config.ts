import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: one fork per core keeps the loopback servers from starving each other.
    pool: "forks",
    maxWorkers: 2,
  },
});
