import { type CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { ALL_SUB_ACCOUNTS, DIMENSION, METRIC, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import { type Check, failed, notChecked, passed } from "./checklist.js";
import type { CounterTarget } from "./outputs.js";

export const COUNTER_CHECK = {
  invoke: "counter invocation",
  metric: "OpenSessions metric appears",
} as const;

/** EMF metrics are standard resolution: one datapoint per minute. */
const PERIOD_SECONDS = 60;

export interface CounterCheckDeps {
  lambda: LambdaClient;
  cloudWatch: CloudWatchClient;
  /** How long to wait for the metric: EMF metrics take a minute or two to appear. */
  metricTimeoutMs: number;
  pollIntervalMs: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  progress?: (message: string) => void;
}

/**
 * Runs the counter once as the scheduler would (the same event), then waits for the
 * OpenSessions figure it emits to be queryable, with the exact dimension set the stack's alarms
 * and dashboard use.
 */
export async function checkCounter(
  counter: { functionName: string; metricsNamespace: string },
  target: CounterTarget,
  deps: CounterCheckDeps,
): Promise<Check[]> {
  const now = deps.now ?? (() => new Date());
  const invokedAt = now();
  const invoke = await invokeCounter(counter.functionName, target, deps.lambda);
  if (!invoke.ok) return [invoke, notChecked(COUNTER_CHECK.metric, "the counter did not count")];
  return [
    invoke,
    await waitForMetric(counter.metricsNamespace, target, invokedAt, { ...deps, now }),
  ];
}

/**
 * A synchronous Invoke (`lambda:InvokeFunction`,
 * https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html): a function that throws still
 * answers 200, with FunctionError set and the error as the payload.
 */
async function invokeCounter(
  functionName: string,
  target: CounterTarget,
  lambda: LambdaClient,
): Promise<Check> {
  const event =
    target.subAccountId === null
      ? { customerId: target.customerId }
      : { customerId: target.customerId, subAccountId: target.subAccountId };
  try {
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const payload = parsePayload(answer.Payload);
    if (answer.FunctionError) {
      const error = payload as { errorType?: unknown; errorMessage?: unknown } | undefined;
      return failed(
        COUNTER_CHECK.invoke,
        `${answer.FunctionError} error: ${String(error?.errorType)}: ${String(error?.errorMessage)}`,
      );
    }
    const result = payload as { openSessions?: unknown; notConfigured?: unknown } | undefined;
    if (result?.notConfigured === true) {
      return failed(
        COUNTER_CHECK.invoke,
        "not configured: the Wavy secret still holds the stack's placeholder (put the credentials in it, docs/deploying.md)",
      );
    }
    const openSessions = result?.openSessions;
    if (typeof openSessions !== "number") {
      return failed(
        COUNTER_CHECK.invoke,
        `no openSessions in the result: ${JSON.stringify(payload)}`,
      );
    }
    return passed(COUNTER_CHECK.invoke, `${openSessions} open sessions for ${label(target)}`);
  } catch (error) {
    return failed(COUNTER_CHECK.invoke, `Invoke failed: ${(error as Error).message}`);
  }
}

/**
 * Polls GetMetricData (`cloudwatch:GetMetricData`,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html).
 * CloudWatch treats each combination of dimensions as its own metric and returns nothing for a
 * subset, so the query names all three: CustomerId, SubAccountId and Powertools' `service`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
 */
async function waitForMetric(
  namespace: string,
  target: CounterTarget,
  invokedAt: Date,
  deps: CounterCheckDeps & { now: () => Date },
): Promise<Check> {
  const sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const dimensions = [
    { Name: DIMENSION.customerId, Value: target.customerId },
    { Name: DIMENSION.subAccountId, Value: target.subAccountId ?? ALL_SUB_ACCOUNTS },
    { Name: DIMENSION.service, Value: SERVICE_NAME.counter },
  ];
  const dimensionText = dimensions.map((d) => `${d.Name}=${d.Value}`).join(", ");
  // Datapoints are stamped with the start of their minute.
  const startTime = new Date(
    Math.floor(invokedAt.getTime() / (PERIOD_SECONDS * 1000)) * PERIOD_SECONDS * 1000,
  );
  const deadline = invokedAt.getTime() + deps.metricTimeoutMs;
  deps.progress?.(
    `Waiting up to ${Math.round(deps.metricTimeoutMs / 1000)} s for ${METRIC.openSessions} {${dimensionText}}...`,
  );
  for (;;) {
    try {
      const answer = await deps.cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: startTime,
          EndTime: new Date(deps.now().getTime() + PERIOD_SECONDS * 1000),
          MetricDataQueries: [
            {
              Id: "openSessions",
              MetricStat: {
                Metric: {
                  Namespace: namespace,
                  MetricName: METRIC.openSessions,
                  Dimensions: dimensions,
                },
                Period: PERIOD_SECONDS,
                Stat: "Maximum",
              },
              ReturnData: true,
            },
          ],
        }),
      );
      const result = answer.MetricDataResults?.[0];
      const value = result?.Values?.[0];
      const at = result?.Timestamps?.[0];
      if (value !== undefined) {
        const waited = Math.round((deps.now().getTime() - invokedAt.getTime()) / 1000);
        return passed(
          COUNTER_CHECK.metric,
          `${namespace}/${METRIC.openSessions} {${dimensionText}} = ${value}` +
            `${at ? ` at ${at.toISOString()}` : ""}, after ${waited} s`,
        );
      }
    } catch (error) {
      return failed(COUNTER_CHECK.metric, `GetMetricData failed: ${(error as Error).message}`);
    }
    if (deps.now().getTime() + deps.pollIntervalMs > deadline) break;
    await sleep(deps.pollIntervalMs);
  }
  return failed(
    COUNTER_CHECK.metric,
    `no ${namespace}/${METRIC.openSessions} {${dimensionText}} since ${startTime.toISOString()} ` +
      `after ${Math.round(deps.metricTimeoutMs / 1000)} s`,
  );
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (!payload || payload.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
}

function label(target: CounterTarget): string {
  return `customer ${target.customerId} / ${target.subAccountId ?? ALL_SUB_ACCOUNTS}`;
}
