import { lambdaContext } from "../../dev/lambda-context.js";
import { handler } from "../../lambdas/export-worker/handler.js";
import { measure } from "./measure.js";

/**
 * One asynchronous export as the worker Lambda runs it: the deployed handler, configured from
 * the environment, given the id of a running manifest the bench stored, with Lambda's 15 minutes.
 */
await measure(async () => {
  const ended = await handler(
    { exportId: process.env.BENCH_EXPORT_ID },
    lambdaContext("export-worker", 900_000),
  );
  if (!ended || !("status" in ended) || ended.status !== "succeeded") {
    throw new Error(`the worker ended ${JSON.stringify(ended)}`);
  }
  return { key: ended.key, rows: ended.rows, bytes: ended.bytes, sha256: ended.sha256 };
});
