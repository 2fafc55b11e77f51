/**
 * The Node.js command line Lambda starts a function with, so the bench's children run as
 * deployed. Lambda's managed Node.js runtime starts the function's process from its bootstrap
 * script (`/var/runtime/bootstrap`, as quoted from the `public.ecr.aws/lambda/nodejs` base images
 * and from extractions of the managed runtime: AWS documents no such file), which runs
 *
 *   node --expose-gc --max-http-header-size 81920 [memory args] /var/runtime/index.mjs
 *
 * where the memory args size V8's heap from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: a tenth of it as
 * new space (`--max-semi-space-size` = half of that) and the rest as `--max-old-space-size`.
 * The nodejs24.x bootstrap leaves both out when NODE_OPTIONS already names either of them
 * ("Do not override customers' semi and old space size options"); the nodejs18.x one added them
 * regardless, and an option on the command line overrides the same option in NODE_OPTIONS
 * (https://nodejs.org/api/cli.html#node_optionsoptions), so on such a runtime the export's
 * `--max-semi-space-size=1` would be lost. This models the current rule; a deployed export
 * function logs a warning at a cold start where the other one applied (docs/deploying.md).
 *
 * Why it matters to the figures: any of these V8 flags, `--expose-gc` alone included, costs
 * ~25-30 ms of CPU at module init (Node's built-in code cache was made under V8's default
 * flags), and every Lambda function pays it, an S3-client-only one too. Measuring the baseline
 * without them charged that cost to the export alone.
 */
export function lambdaNodeArgs(memoryMb: number, nodeOptions = ""): string[] {
  const fixed = ["--expose-gc", "--max-http-header-size", "81920"];
  if (/--max[-_](semi|old)[-_]space[-_]size/.test(nodeOptions)) return fixed;
  const newSpace = Math.floor(memoryMb / 10);
  return [
    ...fixed,
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}
