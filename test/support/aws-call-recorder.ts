import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { MiddlewareStack } from "@smithy/types";
import { expect } from "vitest";
import { describeAwsCall, describeRefusal } from "./iam-action-map.js";

/**
 * Records every AWS call a function's SDK clients make, as IAM sees it (action and resource
 * ARN), so test/iam can evaluate each one against the policies synthesised for that function.
 *
 * A middleware at the `initialize` step sees the command and its input before anything is sent,
 * so it also records what the presigner signs (getSignedUrl runs the client's own stack). It
 * does not see clients whose `send` aws-sdk-client-mock has replaced: those calls never enter
 * the stack.
 *
 * Each vitest worker appends to its own file under WAVY_AWS_CALL_LOG (one directory per run,
 * made by test/support/aws-call-log.ts), so the IAM project, which runs after the others, reads
 * the calls of every suite.
 */

/** The function whose role makes the call: one execution role each in the stack. */
export type FunctionRole = "export" | "counter" | "worker" | "companion";

export interface RecordedCall {
  function: FunctionRole;
  /** IAM action, e.g. `s3:PutObject` (service prefix as in the Service Authorization Reference). */
  action: string;
  /** The resource ARN IAM authorises the action on. */
  resource: string;
  /** SDK client and command, for the report: `S3Client.UploadPartCommand`. */
  operation: string;
  /** The test file that made the call. */
  source: string;
}

const LOG_ENV = "WAVY_AWS_CALL_LOG";

type AwsClient = S3Client | SecretsManagerClient | SQSClient | EventBridgeClient | LambdaClient;

export function recordAwsCalls<T extends AwsClient>(client: T, role: FunctionRole): T {
  const directory = process.env[LOG_ENV];
  if (!directory) return client;
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${process.pid}.jsonl`);
  // Each client's stack is typed by its own commands; the recorder reads only the input.
  const stack = client.middlewareStack as unknown as MiddlewareStack<object, object>;
  stack.add(
    (next, context) => async (args) => {
      const input = (args as { input?: Record<string, unknown> }).input ?? {};
      const clientName = String(context.clientName);
      const commandName = String(context.commandName);
      const source = expect.getState().testPath ?? "unknown";
      const write = (described: ReturnType<typeof describeAwsCall>) => {
        for (const call of described) {
          const recorded: RecordedCall = { function: role, ...call, source };
          appendFileSync(file, `${JSON.stringify(recorded)}\n`);
        }
      };
      write(describeAwsCall(clientName, commandName, input));
      try {
        return await next(args);
      } catch (error) {
        write(describeRefusal(clientName, commandName, input, error));
        throw error;
      }
    },
    { step: "initialize", name: "wavyAwsCallRecorder", override: true },
  );
  return client;
}

/** Every call recorded in this run, by every worker. */
export function readRecordedCalls(): RecordedCall[] {
  const directory = process.env[LOG_ENV];
  if (!directory) return [];
  let files: string[];
  try {
    files = readdirSync(directory).filter((name) => name.endsWith(".jsonl"));
  } catch {
    return [];
  }
  return files.flatMap((name) =>
    readFileSync(join(directory, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedCall),
  );
}
