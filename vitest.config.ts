import { defineConfig } from "vitest/config";

/**
 * Four projects, so `npx vitest run --project unit` is the quick loop:
 * - unit: domain code in isolation, mirroring lambdas/lib and lambdas/*;
 * - integration: the real handlers over loopback HTTP against the dev servers (dev/);
 * - infra: the stack synthesised for real (aws-cdk-lib/assertions, cdk-nag, bundling);
 * - iam: after the others (groupOrder), every AWS call they recorded evaluated against the
 *   synthesised policies with an IAM evaluator we did not write (test/iam).
 */
export default defineConfig({
  test: {
    setupFiles: ["test/support/setup.ts"],
    // One directory per run for the AWS calls the suites record (test/support/aws-call-log.ts).
    globalSetup: ["test/support/aws-call-log.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: one fork per core keeps the loopback servers from starving each other.
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"] } },
      { extends: true, test: { name: "infra", include: ["test/infra/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "iam", include: ["test/iam/**/*.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
