import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synth } from "../infra/synth.js";
import { type FunctionRole, readRecordedCalls } from "../support/aws-call-recorder.js";
import { refusedWindowsEdges, serviceEdges } from "./edges.js";
import { evaluate, type IamOutcome, type IamRequest, sessionArn } from "./evaluate.js";
import { formatReport, leastPrivilege } from "./least-privilege.js";
import { buildStackModel } from "./stack-model.js";

/**
 * Every AWS call the other projects' suites recorded (test/support/aws-call-recorder.ts), and
 * every service-to-service edge of the stack, evaluated against the policies synthesised for
 * it by an IAM evaluator we did not write (@cloud-copilot/iam-simulate). This project runs
 * after the others (vitest.config.ts, groupOrder), so the calls of a whole `npm test` are here;
 * run alone, it fails for want of them.
 */

// Two targets, an alarm e-mail and closing notices (issue 21's sweeper and its schedule): every
// kind of resource the edges touch exists.
const { stack, template } = synth(
  {
    targets: [{ customerId: "42" }, { customerId: "42", subAccountId: "7" }],
    alarmEmail: "ops@example.com",
    closingNotices: { "5511999990000": 60 },
  },
  { cfnValidation: false },
);
const model = buildStackModel(stack, template);
const calls = readRecordedCalls();
const edges = serviceEdges(model);
const refusals = refusedWindowsEdges(model);

/** Roles whose CDK-made grants go beyond what AWS documents as needed, and why we keep them. */
const ACCEPTED_UNUSED: Record<string, string[]> = {
  // CDK's grantSendMessages adds these beside sqs:SendMessage, which is all API Gateway's
  // SendMessage integration calls.
  [model.windows.sendRole.logicalId]: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
  // The L2 SqsEventSource grants these beside the three Lambda's docs list for polling
  // (ReceiveMessage, DeleteMessage, GetQueueAttributes).
  [model.windows.processorRole.logicalId]: ["sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"],
  // CDK's SqsDestination grants these beside sqs:SendMessage; Lambda's docs ask only for
  // SendMessage. The L2 construct's role is preferred over a hand-written one (STYLE.md).
  [model.functionRole.counter.logicalId]: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
  // The same SqsDestination grants for the worker's on-failure destination; and the worker
  // reads the Wavy secret with the export function's code (lambdas/lib/wavy/credentials.ts),
  // whose GetSecretValue is recorded for the export role: the harness's worker uses static
  // credentials.
  [model.functionRole.worker.logicalId]: [
    "secretsmanager:GetSecretValue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
  ],
  // The companion function aborts a multipart companion (past one 5 MiB part) only when its
  // build fails, and deletes a companion only when its export stopped being succeeded while it
  // was built (test/unit/lib/companions/build-companion.test.ts, in memory): no loopback suite
  // makes either call.
  [model.functionRole.companion.logicalId]: ["s3:AbortMultipartUpload", "s3:DeleteObject"],
};

const outcomes: IamOutcome[] = [];

/** The recorded calls of one function and action, each distinct resource once. */
function recordedRequests(fn: FunctionRole, action: string): IamRequest[] {
  const role = model.functionRole[fn];
  const resources = new Set(
    calls.filter((c) => c.function === fn && c.action === action).map((c) => c.resource),
  );
  return [...resources].map((resource) => ({
    label: `the ${fn} function's ${action} (recorded)`,
    principal: sessionArn(role, `wavy-sessions-${fn}`),
    action,
    resource,
    role,
    // The SDK calls AWS over HTTPS; the bucket policy denies anything else.
    context: { "aws:SecureTransport": "true" },
    ...(action.startsWith("s3:") && { resourcePolicy: model.bucketPolicy }),
  }));
}

const recordedPairs = [...new Set(calls.map((c) => `${c.function} ${c.action}`))].sort();

describe("the AWS calls the handlers made across the suites", () => {
  it("were recorded for every function (run the whole suite: npm test)", () => {
    expect(new Set(calls.map((c) => c.function))).toEqual(
      new Set(["export", "counter", "worker", "companion"]),
    );
  });

  it("are all operations the IAM action map knows", () => {
    expect(calls.filter((c) => c.action.startsWith("unmapped:")).map((c) => c.operation)).toEqual(
      [],
    );
  });

  it.each(recordedPairs)("%s: allowed on every resource it was made on", async (pair) => {
    const [fn, action] = pair.split(" ") as [FunctionRole, string];
    const results = await Promise.all(recordedRequests(fn, action).map(evaluate));
    outcomes.push(...results);
    const refused = results.filter((r) => r.decision !== "Allowed");
    expect(refused.map((r) => `${r.detail}: ${r.request.resource}`)).toEqual([]);
  });
});

describe("the service-to-service edges, with the request context AWS documents", () => {
  it.each(edges.map((edge) => [edge.label, edge] as const))("%s", async (_label, edge) => {
    const outcome = await evaluate(edge);
    outcomes.push(outcome);
    expect(outcome.decision, outcome.detail).toBe("Allowed");
  });
});

describe("what the live windows' roles must not do", () => {
  it.each(refusals.map((edge) => [edge.label, edge] as const))("%s", async (_label, edge) => {
    const outcome = await evaluate(edge);
    expect(outcome.decision, outcome.detail).not.toBe("Allowed");
    expect(outcome.decision).toMatch(/Denied$/);
  });
});

describe("least privilege", () => {
  let report = "";
  afterAll(() => {
    process.stdout.write(report);
  });

  // ACCEPTED_UNUSED is an upper bound, not an exact list: a call the suites make only in some
  // runs (the companion's delete, when a test rewrites a manifest while a background build runs)
  // must not fail the check by being used. Each entry must still be granted, so a stale one fails.
  it("grants each role no action that no call or edge used", () => {
    const usage = leastPrivilege(model.roles, outcomes);
    report = formatReport(usage, outcomes);
    const unexpected = Object.fromEntries(
      usage
        .map(
          ({ role, unusedActions }) =>
            [
              role.logicalId,
              unusedActions.filter((action) => !ACCEPTED_UNUSED[role.logicalId]?.includes(action)),
            ] as const,
        )
        .filter(([, actions]) => actions.length > 0),
    );
    expect(unexpected).toEqual({});
  });

  it("grants every action it accepts as unused (no stale entry in ACCEPTED_UNUSED)", () => {
    const usage = leastPrivilege(model.roles, outcomes);
    const granted = Object.fromEntries(
      usage.map(({ role, grants }) => [
        role.logicalId,
        new Set(grants.map(({ grant }) => grant.split(" ")[1])),
      ]),
    );
    const stale = Object.entries(ACCEPTED_UNUSED).flatMap(([logicalId, actions]) =>
      actions.filter((action) => !granted[logicalId]?.has(action)).map((a) => `${logicalId} ${a}`),
    );
    expect(stale).toEqual([]);
  });
});

beforeAll(() => {
  expect(calls.length, "no recorded AWS calls: run the whole suite (npm test)").toBeGreaterThan(0);
});
