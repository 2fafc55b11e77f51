import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { WorkerLauncher } from "../exports/ports.js";

/**
 * Invokes the worker with `{exportId}` (docs/contract.md, "Handlers") asynchronously: Lambda
 * queues the event and answers 202 at once
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, InvocationType `Event`), so the
 * API answers 202 without waiting for the copy. The call runs under the request's deadline
 * (the SDK's per-call abortSignal): a Lambda endpoint that does not answer cannot hold the
 * answer past the budget. The stack sets the function's async retries to 0 and an on-failure
 * destination (infra/constructs/export-worker.ts).
 */
export function lambdaWorkerLauncher(client: LambdaClient, functionName: string): WorkerLauncher {
  return async (exportId, signal) => {
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify({ exportId })),
      }),
      { abortSignal: signal },
    );
    if (answer.StatusCode !== 202) {
      throw new Error(`Lambda answered ${answer.StatusCode} to an asynchronous invoke`);
    }
  };
}
