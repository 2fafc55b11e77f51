/**
 * `npm run smoke`: checks a deployed stack end to end with the operator's AWS credentials, and
 * prints a checklist. See USAGE below (also `npm run smoke -- --help`).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { ID_PATTERN } from "../lambdas/lib/contract.js";
import { regionOfApiUrl, routeUrl, signedFetch } from "./signed-fetch.js";
import { checkApi } from "./smoke/api-checks.js";
import { type Check, exitCodeOf, formatCheck, summary } from "./smoke/checklist.js";
import { checkCounter } from "./smoke/counter-checks.js";
import { checkAlarms, checkDeadLetterQueue } from "./smoke/health-checks.js";
import {
  type CounterTarget,
  OUTPUT,
  outputsFromFile,
  outputsFromStack,
  SmokeSetupError,
  smokeSubject,
} from "./smoke/outputs.js";

const DEFAULT_OUTPUTS_FILE = "cdk-outputs.json";

const USAGE = `usage: npm run smoke -- [--stack NAME] [--outputs FILE] [options]

Checks a deployed wavy-sessions stack with your AWS credentials (the default provider chain:
AWS_PROFILE, environment, SSO...) and prints a checklist, one line per check:
  1. signs and calls every route: POST /exports, GET /exports/{id}, GET /v1/session, an unknown
     route (404), a wrong method (405 with Allow), a bad body (400); downloads the export through
     its downloadUrl and compares its bytes and sha256 with the document;
  2. invokes the counter once (RequestResponse) and waits for its OpenSessions metric;
  3. checks the dead-letter queue is empty and no alarm of the stack is in ALARM.
Exit status: 0 when every check passed, 1 when one failed, 2 when the checks could not run.

Where the stack is (one of):
  --stack NAME           read its outputs with CloudFormation DescribeStacks
                         (with --outputs too: pick that stack from the file)
  --outputs FILE         read them from \`cdk deploy --outputs-file FILE\`
                         (default: ${DEFAULT_OUTPUTS_FILE} when it exists)
Options:
  --customer-id ID       whom to export and count (default: the stack's ${OUTPUT.firstTarget} output,
  --sub-account-id ID    its first configured target)
  --region REGION        default: the API URL's region, else AWS_REGION or your profile's
  --alarm-prefix PREFIX  the stack's alarms' name prefix (default: the ${OUTPUT.alarmNamePrefix}
                         output, else "<stack name>/")
  --metric-timeout SEC   how long to wait for the metric (default 180: EMF metrics take a
                         minute or two to appear)
  --poll-interval SEC    between two GetMetricData calls (default 15)
  -h, --help             this text

Permissions: cloudformation:DescribeStacks (with --stack), execute-api:Invoke on the API,
lambda:InvokeFunction on the counter, cloudwatch:GetMetricData, cloudwatch:DescribeAlarms and
sqs:GetQueueAttributes on the dead-letter queue. Each POST /exports and GET /v1/session makes
a real export (a call to Wavy and an object in the bucket), two in all.
Endpoints follow the SDK's variables (AWS_ENDPOINT_URL_CLOUDFORMATION, _LAMBDA, _CLOUDWATCH,
_SQS), which is how the smoke test itself is tested locally (npm run test:smoke).`;

/** API Gateway gives up on an integration after 29 s; a little more for the answer to arrive. */
const API_TIMEOUT_MS = 35_000;
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      outputs: { type: "string" },
      "customer-id": { type: "string" },
      "sub-account-id": { type: "string" },
      region: { type: "string" },
      "alarm-prefix": { type: "string" },
      "metric-timeout": { type: "string", default: "180" },
      "poll-interval": { type: "string", default: "15" },
      help: { type: "boolean", short: "h" },
    },
  });
  const seconds = (flag: "metric-timeout" | "poll-interval"): number => {
    const value = Number(values[flag]);
    if (!Number.isFinite(value) || value < 0) {
      throw new SmokeSetupError(`--${flag} must be a number of seconds`);
    }
    return value * 1000;
  };
  const customerId = values["customer-id"];
  const subAccountId = values["sub-account-id"];
  for (const [flag, id] of [
    ["--customer-id", customerId],
    ["--sub-account-id", subAccountId],
  ] as const) {
    if (id !== undefined && !ID_PATTERN.test(id)) {
      throw new SmokeSetupError(`${flag} must be 1-18 digits without a leading zero`);
    }
  }
  if (subAccountId !== undefined && customerId === undefined) {
    throw new SmokeSetupError("--sub-account-id needs --customer-id");
  }
  const target: CounterTarget | undefined =
    customerId === undefined ? undefined : { customerId, subAccountId: subAccountId ?? null };
  return {
    help: values.help ?? false,
    stack: values.stack,
    outputsFile:
      values.outputs ??
      (values.stack === undefined && existsSync(DEFAULT_OUTPUTS_FILE)
        ? DEFAULT_OUTPUTS_FILE
        : undefined),
    target,
    region: values.region,
    alarmNamePrefix: values["alarm-prefix"],
    metricTimeoutMs: seconds("metric-timeout"),
    pollIntervalMs: seconds("poll-interval"),
  };
}

async function main(): Promise<number> {
  const options = parseCommandLine();
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.outputsFile === undefined && options.stack === undefined) {
    throw new SmokeSetupError(
      `Say which stack to check: --stack NAME or --outputs FILE\n\n${USAGE}`,
    );
  }

  const outputs =
    options.outputsFile !== undefined
      ? await outputsFromFile(options.outputsFile, options.stack)
      : await outputsFromStack(
          new CloudFormationClient({ region: options.region }),
          options.stack as string,
        );
  const subject = smokeSubject(outputs, {
    target: options.target,
    alarmNamePrefix: options.alarmNamePrefix,
  });
  const apiUrl = new URL(subject.apiUrl);
  const clientConfig = { region: options.region ?? regionOfApiUrl(apiUrl) };
  const lambda = new LambdaClient(clientConfig);
  const cloudWatch = new CloudWatchClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  const region = await cloudWatch.config.region().catch(() => undefined);
  if (!region) throw new SmokeSetupError("No region: pass --region or set AWS_REGION");
  const credentials = defaultProvider();
  try {
    await credentials();
  } catch (error) {
    throw new SmokeSetupError(`No AWS credentials: ${(error as Error).message}`);
  }

  const target = subject.target;
  console.log(
    `Smoke test of ${subject.stackName} in ${region}: ${subject.apiUrl}, ` +
      `counter ${subject.counterFunctionName}, customer ${target.customerId} / ${target.subAccountId ?? "all"}`,
  );
  const checks: Check[] = [];
  const report = (found: Check[]) => {
    for (const check of found) console.log(formatCheck(check));
    checks.push(...found);
  };

  report(
    await checkApi(target, {
      call: (method, route, request) =>
        signedFetch(
          routeUrl(subject.apiUrl, route),
          {
            method,
            body: request?.body,
            headers: {
              accept: "application/json",
              ...(request?.body !== undefined && { "content-type": "application/json" }),
            },
            signal: AbortSignal.timeout(API_TIMEOUT_MS),
          },
          { region, credentials },
        ),
      download: (url) => fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) }),
    }),
  );
  report(
    await checkCounter(
      { functionName: subject.counterFunctionName, metricsNamespace: subject.metricsNamespace },
      target,
      {
        lambda,
        cloudWatch,
        metricTimeoutMs: options.metricTimeoutMs,
        pollIntervalMs: options.pollIntervalMs,
        progress: (message) => console.error(message),
      },
    ),
  );
  report([
    await checkDeadLetterQueue(subject.deadLetterQueueUrl, sqs),
    await checkAlarms(subject.alarmNamePrefix, cloudWatch),
  ]);
  console.log(summary(checks));
  return exitCodeOf(checks);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  },
);
