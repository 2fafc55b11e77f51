import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { PutMetricAlarmCommand, SetAlarmStateCommand } from "@aws-sdk/client-cloudwatch";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { COUNTER_FUNCTION, CREDENTIALS, LocalStack, REGION, STACK_NAME } from "./local-stack.js";

/**
 * `npm run smoke` against the local stack with moto as AWS (npm run test:smoke): the checklist
 * and the exit status for a healthy stack and for each kind of failure the smoke test exists to
 * catch. Needs moto_server (pip install "moto[server]"), so it is not part of `npm test`.
 */

const STACK = STACK_NAME;
const PREFIX = `${STACK}/`;
/** Short waits: the stand-in puts the metric before Invoke answers, so it is there at once. */
const FAST = ["--metric-timeout", "20", "--poll-interval", "0.2"];

const stack = new LocalStack();
let sqs: SQSClient;

beforeAll(async () => {
  await stack.start();
  sqs = new SQSClient({ region: REGION, endpoint: stack.moto.endpoint, credentials: CREDENTIALS });
}, 60_000);

afterAll(async () => {
  await stack.stop();
});

beforeEach(async () => {
  await stack.reset();
});

/** What `cdk deploy` would create in AWS: the queue, two quiet alarms, and outputs naming them. */
async function deployed(options: { alarmState?: "OK" | "ALARM" } = {}) {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${STACK}-DeadLetters` }),
  );
  await alarm(`${PREFIX}ExportErrors`, "OK");
  await alarm(`${PREFIX}DeadLetters`, options.alarmState ?? "OK");
  // A stack whose name starts with this one's, in ALARM: the prefix keeps it out of the check.
  await alarm(`${STACK}-Staging/ExportErrors`, "ALARM");
  return {
    queueUrl: QueueUrl as string,
    outputs: {
      ApiUrl: `${stack.apiUrl}/`,
      DeadLetterQueueUrl: QueueUrl as string,
      CounterFunctionName: COUNTER_FUNCTION,
      MetricsNamespace: STACK,
      AlarmNamePrefix: PREFIX,
      FirstTarget: JSON.stringify({ customerId: "42" }),
    },
  };
}

async function alarm(name: string, state: "OK" | "ALARM"): Promise<void> {
  await stack.cloudWatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    }),
  );
  await stack.cloudWatch.send(
    new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: "smoke test" }),
  );
}

/** The checklist's lines, keyed by check name: `{ ok, seen }`. */
function checklist(stdout: string): Map<string, { ok: boolean; seen: string }> {
  const lines = new Map<string, { ok: boolean; seen: string }>();
  for (const line of stdout.split("\n")) {
    const match = /^([✔✘]) ([^:]+): (.*)$/.exec(line);
    if (match?.[1] && match[2] && match[3] !== undefined) {
      lines.set(match[2], { ok: match[1] === "✔", seen: match[3] });
    }
  }
  return lines;
}

const ALL_CHECKS = [
  "POST /exports",
  "download matches bytes and sha256",
  "GET /exports/{exportId}",
  "GET /v1/session",
  "unknown route answers 404",
  "wrong method answers 405 with Allow",
  "bad body answers 400",
  "counter invocation",
  "OpenSessions metric appears",
  "dead-letter queue is empty",
  "no alarm in ALARM",
];

function failing(lines: Map<string, { ok: boolean }>): string[] {
  return [...lines].filter(([, line]) => !line.ok).map(([name]) => name);
}

describe("npm run smoke", () => {
  it("passes every check of a healthy stack read from a cdk outputs file, and exits 0", async () => {
    const { outputs } = await deployed();
    const file = await stack.outputsFile(STACK, outputs);

    const run = await stack.runSmoke(["--outputs", file, ...FAST]);

    const lines = checklist(run.stdout);
    expect([...lines.keys()]).toEqual(ALL_CHECKS);
    expect(failing(lines)).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("All 11 checks passed.");
    // The sandbox's customer 42 has 240 open sessions: the export holds them, the metric says so.
    expect(lines.get("POST /exports")?.seen).toMatch(/^201, export \S+: 240 rows, \d+ bytes$/);
    expect(lines.get("counter invocation")?.seen).toBe("240 open sessions for customer 42 / all");
    expect(lines.get("OpenSessions metric appears")?.seen).toMatch(
      /^WavySessionsSmoke\/OpenSessions \{CustomerId=42, SubAccountId=all, service=wavy-sessions-counter\} = 240/,
    );
    expect(lines.get("wrong method answers 405 with Allow")?.seen).toBe(
      "405 METHOD_NOT_ALLOWED, Allow: GET, POST",
    );
    expect(lines.get("dead-letter queue is empty")?.seen).toBe("0 visible, 0 in flight, 0 delayed");
    expect(lines.get("no alarm in ALARM")?.seen).toBe(`2 OK of ${PREFIX}*`);
    // The counter ran once, with the event its schedule sends.
    expect(stack.lambda.invocations.map((i) => i.event)).toEqual([{ customerId: "42" }]);
  });

  it("reads the outputs of a stack by name with DescribeStacks, and honours --customer-id", async () => {
    const { outputs } = await deployed();
    const { FirstTarget: _unused, ...withoutTarget } = outputs;
    await new CloudFormationClient({
      region: REGION,
      endpoint: stack.moto.endpoint,
      credentials: CREDENTIALS,
    }).send(
      new CreateStackCommand({
        StackName: STACK,
        TemplateBody: JSON.stringify({
          Resources: { Placeholder: { Type: "AWS::CloudFormation::WaitConditionHandle" } },
          Outputs: Object.fromEntries(
            Object.entries(withoutTarget).map(([key, value]) => [key, { Value: value }]),
          ),
        }),
      }),
    );

    const run = await stack.runSmoke([
      "--stack",
      STACK,
      "--customer-id",
      "42",
      "--sub-account-id",
      "7",
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual([]);
    expect(run.code).toBe(0);
    expect(lines.get("counter invocation")?.seen).toBe("35 open sessions for customer 42 / 7");
    expect(lines.get("OpenSessions metric appears")?.seen).toMatch(
      /\{CustomerId=42, SubAccountId=7, service=wavy-sessions-counter\} = 35/,
    );
    expect(stack.lambda.invocations.map((i) => i.event)).toEqual([
      { customerId: "42", subAccountId: "7" },
    ]);
  });

  it("reports an alarm of the stack in ALARM and exits 1", async () => {
    const { outputs } = await deployed({ alarmState: "ALARM" });

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["no alarm in ALARM"]);
    expect(lines.get("no alarm in ALARM")?.seen).toBe(
      `1 ALARM, 1 OK of ${PREFIX}*; in ALARM: ${PREFIX}DeadLetters`,
    );
    expect(run.stdout).toContain("1 of 11 checks failed.");
    expect(run.code).toBe(1);
  });

  it("reports a message in the dead-letter queue and exits 1", async () => {
    const { outputs, queueUrl } = await deployed();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "{}" }));

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["dead-letter queue is empty"]);
    expect(lines.get("dead-letter queue is empty")?.seen).toMatch(
      /^1 visible, 0 in flight, 0 delayed: failed counts are waiting/,
    );
    expect(run.code).toBe(1);
  });

  it("reports a metric that never appears within --metric-timeout and exits 1", async () => {
    const { outputs } = await deployed();
    stack.forwardMetrics = false;

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      "--metric-timeout",
      "2",
      "--poll-interval",
      "0.5",
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["OpenSessions metric appears"]);
    expect(lines.get("OpenSessions metric appears")?.seen).toMatch(
      /^no WavySessionsSmoke\/OpenSessions \{CustomerId=42, SubAccountId=all, service=wavy-sessions-counter\} since .* after 2 s$/,
    );
    expect(run.code).toBe(1);
  });

  it("reports a counter that fails (Wavy refuses it) and does not wait for its metric", async () => {
    const { outputs } = await deployed();
    stack.beforeCount = () => stack.wavy.replySession({ status: 403 });

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["counter invocation", "OpenSessions metric appears"]);
    expect(lines.get("counter invocation")?.seen).toMatch(/^Unhandled error: UpstreamError: .*403/);
    expect(lines.get("OpenSessions metric appears")?.seen).toBe(
      "not checked: the counter did not count",
    );
    expect(run.stderr).not.toContain("Waiting up to");
    expect(run.code).toBe(1);
  });

  it("reports a stored export whose bytes differ from its document and exits 1", async () => {
    const { outputs } = await deployed();
    stack.apiFault = async (event, answer) => {
      if (event.httpMethod === "POST" && answer.statusCode === 201) {
        // One byte changed, none added: only the sha256 can tell.
        const { bucket, key } = JSON.parse(answer.body) as { bucket: string; key: string };
        const stored = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = Buffer.from(
          await (
            stored.Body as { transformToByteArray(): Promise<Uint8Array> }
          ).transformToByteArray(),
        );
        const last = bytes.length - 2;
        bytes[last] = bytes[last] === 0x30 ? 0x31 : 0x30;
        await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      }
      return answer;
    };

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["download matches bytes and sha256"]);
    expect(lines.get("download matches bytes and sha256")?.seen).toMatch(
      /^(\d+) bytes, sha256 ([0-9a-f]{64}); the document says \1 bytes, sha256 (?!\2)[0-9a-f]{64}$/,
    );
    expect(run.code).toBe(1);
  });

  it("reports a 405 without an Allow header and exits 1", async () => {
    const { outputs } = await deployed();
    stack.apiFault = (_event, answer) => {
      if (answer.statusCode !== 405) return answer;
      const { Allow: _allow, ...headers } = answer.headers ?? {};
      return { ...answer, headers };
    };

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["wrong method answers 405 with Allow"]);
    expect(lines.get("wrong method answers 405 with Allow")?.seen).toBe(
      "expected 405 METHOD_NOT_ALLOWED, got Allow missing",
    );
    expect(run.code).toBe(1);
  });

  it("reports an export that fails upstream, and the checks that depend on it as not checked", async () => {
    const { outputs } = await deployed();
    stack.wavy.replySession({ status: 403 });

    const run = await stack.runSmoke([
      "--outputs",
      await stack.outputsFile(STACK, outputs),
      ...FAST,
    ]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual([
      "POST /exports",
      "download matches bytes and sha256",
      "GET /exports/{exportId}",
    ]);
    expect(lines.get("POST /exports")?.seen).toMatch(/^502 UPSTREAM_ERROR: /);
    expect(lines.get("download matches bytes and sha256")?.seen).toBe(
      "not checked: no export was created",
    );
    expect(run.code).toBe(1);
  });

  it("reports a counter function that does not exist (a stale output) and exits 1", async () => {
    const { outputs } = await deployed();
    const stale = { ...outputs, CounterFunctionName: "WavySessionsSmoke-Gone" };

    const run = await stack.runSmoke(["--outputs", await stack.outputsFile(STACK, stale), ...FAST]);

    const lines = checklist(run.stdout);
    expect(failing(lines)).toEqual(["counter invocation", "OpenSessions metric appears"]);
    expect(lines.get("counter invocation")?.seen).toBe(
      "Invoke failed: Function not found: WavySessionsSmoke-Gone",
    );
    expect(run.code).toBe(1);
  });

  it("exits 2 with what is missing when the outputs lack one it needs", async () => {
    const { outputs } = await deployed();
    const { CounterFunctionName: _unused, ...incomplete } = outputs;

    const run = await stack.runSmoke(["--outputs", await stack.outputsFile(STACK, incomplete)]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`The stack ${STACK} has no output CounterFunctionName`);
    expect(checklist(run.stdout).size).toBe(0);
  });

  it("exits 2 when the named stack does not exist", async () => {
    const run = await stack.runSmoke(["--stack", "NoSuchStack"]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Cannot describe the stack NoSuchStack");
  });

  it("describes its flags in --help", async () => {
    const run = await stack.runSmoke(["--help"]);

    expect(run.code).toBe(0);
    for (const flag of [
      "--stack NAME",
      "--outputs FILE",
      "--customer-id ID",
      "--sub-account-id ID",
      "--region REGION",
      "--alarm-prefix PREFIX",
      "--metric-timeout SEC",
      "--poll-interval SEC",
    ]) {
      expect(run.stdout).toContain(flag);
    }
  });
});
