import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/** Enough of a Lambda context for Powertools and the handlers; local runs have no real one. */
export function lambdaContext(functionName: string, remainingMs = 29_000): Context {
  // Counts down, as Lambda's does: the worker sizes its deadline from it.
  const endsAt = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "256",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
