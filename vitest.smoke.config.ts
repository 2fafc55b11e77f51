import { defineConfig } from "vitest/config";

/**
 * `npm run test:smoke`: the smoke script against the local stack and moto_server. Apart from
 * vitest.config.ts because it needs moto (a Python tool), and `npm test` must pass on a machine
 * with npm alone. No shared setup file: the counter must print its EMF to stdout as in Lambda,
 * which Powertools' dev mode (test/support/setup.ts) turns off.
 */
export default defineConfig({
  test: {
    include: ["test/smoke/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One moto, one sandbox: the tests share them and run one after another.
    fileParallelism: false,
  },
});
