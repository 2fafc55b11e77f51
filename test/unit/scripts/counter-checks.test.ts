import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { checkCounter } from "../../../scripts/smoke/counter-checks.js";

const lambda = mockClient(LambdaClient);
const cloudWatch = mockClient(CloudWatchClient);
/** The SDK wraps the payload's bytes in a blob adapter; the check reads only the bytes. */
const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput["Payload"];

const run = () =>
  checkCounter(
    { functionName: "counter", metricsNamespace: "WavySessions" },
    { customerId: "42", subAccountId: null },
    {
      lambda: new LambdaClient({}),
      cloudWatch: new CloudWatchClient({}),
      metricTimeoutMs: 1_000,
      pollIntervalMs: 100,
      sleep: async () => {},
    },
  );

beforeEach(() => {
  lambda.reset();
  cloudWatch.reset();
});

describe("the smoke test's counter check", () => {
  it("tells a counter whose secret is still the placeholder apart, and waits for no metric", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ customerId: "42", subAccountId: null, notConfigured: true }),
    });

    const [invoke, metric] = await run();

    expect(invoke).toEqual({
      name: "counter invocation",
      ok: false,
      seen: expect.stringMatching(
        /^not configured: the Wavy secret still holds the stack's placeholder/,
      ),
    });
    expect(metric?.ok).toBe(false);
    expect(cloudWatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it("invokes synchronously with the target as the counter's event", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ openSessions: 3 }) });
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: "openSessions", Values: [3], Timestamps: [new Date()] }],
    });

    const checks = await run();

    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.InvocationType).toBe("RequestResponse");
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      customerId: "42",
    });
    expect(checks.map((check) => check.ok)).toEqual([true, true]);
  });

  it("keeps polling until the metric appears, within the timeout", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ openSessions: 3 }) });
    cloudWatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: "openSessions", Values: [] }] })
      .resolvesOnce({ MetricDataResults: [{ Id: "openSessions", Values: [] }] })
      .resolves({ MetricDataResults: [{ Id: "openSessions", Values: [3] }] });

    const [, metric] = await run();

    expect(metric?.ok).toBe(true);
    expect(cloudWatch.commandCalls(GetMetricDataCommand)).toHaveLength(3);
  });
});
