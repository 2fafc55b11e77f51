import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the local console driven in Debian's Chromium (test/browser). Apart from
 * vitest.config.ts because it needs a browser npm does not install (`apt-get install chromium`);
 * without /usr/bin/chromium the suite skips and says so. Screenshots go to test/browser/.output/.
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: "forks",
    // One stack, one browser: the views are driven one after another.
    fileParallelism: false,
  },
});
