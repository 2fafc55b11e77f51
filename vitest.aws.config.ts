import { defineConfig } from "vitest/config";

/**
 * `npm run test:aws`: the export, counter and live-window suites against moto (a second, independent AWS
 * implementation) with IAM enforcement on and each function holding credentials restricted to
 * exactly its synthesised policy. Needs Python with moto, so it is not part of `npm test`.
 */
export default defineConfig({
  test: {
    include: ["test/aws/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    globalSetup: ["test/aws/moto-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One moto for the run; one file at a time also keeps its auth switch (presigned GET) safe.
    fileParallelism: false,
  },
});
