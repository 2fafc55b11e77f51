import { beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../infra/config.js";
import { CounterEventSchema } from "../../lambdas/lib/ids.js";
import { nagFindings, SYNTH_TIMEOUT_MS, type Synthesised, synth } from "./synth.js";
import {
  type Json,
  listOf,
  logicalIdOf,
  resolve,
  resourcesOf,
  type Statement,
  statementsOfRole,
} from "./template.js";

/** One snapshot target among plain ones, on a bus of its own. */
const TARGETS = [{ customerId: "42" }, { customerId: "42", subAccountId: "7", snapshot: true }];

let synthesised: Synthesised;
beforeAll(() => {
  synthesised = synth(
    { targets: TARGETS, eventBusName: "wavy-exports", alarmEmail: "ops@example.com" },
    { cfnValidation: false },
  );
}, SYNTH_TIMEOUT_MS);

const functionOf = (service: string) => {
  const entry = Object.entries(resourcesOf(synthesised.template, "AWS::Lambda::Function")).find(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
      service,
  );
  if (!entry) throw new Error(`no function for ${service}`);
  const [logicalId, fn] = entry;
  return { logicalId, properties: fn.Properties, roleId: logicalIdOf(fn.Properties.Role) ?? "" };
};
const statements = (service: string): Statement[] =>
  statementsOfRole(synthesised.template, functionOf(service).roleId);
const withAction = (service: string, prefix: string) =>
  statements(service).filter((s) => listOf(s.Action).some((a) => a.startsWith(prefix)));
const BUS_ARN = "arn:aws:events:sa-east-1:123456789012:event-bus/wavy-exports";

describe("the export worker", () => {
  it("has Lambda's longest timeout, the benchmark's memory and the contract's environment", () => {
    const { properties } = functionOf("wavy-sessions-export-worker");
    expect(properties.Timeout).toBe(900);
    expect(properties.MemorySize).toBe(512);
    expect((properties.Environment as { Variables: Json }).Variables).toMatchObject({
      EXPORT_BUCKET: { Ref: expect.stringMatching(/^StorageExports/) },
      EVENT_BUS_NAME: "wavy-exports",
      MAX_CSV_BYTES: "5368709120",
    });
  });

  it("is never retried by Lambda and sends failed or expired invocations to the dead-letter queue", () => {
    const { logicalId } = functionOf("wavy-sessions-export-worker");
    const configs = Object.values(
      resourcesOf(synthesised.template, "AWS::Lambda::EventInvokeConfig"),
    ).filter(
      (c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: logicalId }),
    );
    expect(configs).toHaveLength(1);
    expect(configs[0]?.Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [expect.stringMatching(/^CounterDeadLetters/), "Arn"] },
        },
      },
    });
  });

  it("may touch only exports/ and manifests/, and delete only under those (no companion: issue 19)", () => {
    const s3 = withAction("wavy-sessions-export-worker", "s3:");
    const objectResources = s3
      .flatMap((s) => listOf(s.Resource))
      .map((r) => JSON.stringify(resolve(synthesised.template, r)));
    for (const resource of objectResources) {
      expect(resource).toMatch(
        /"(\/exports\/\*|\/manifests\/\*)"\]|StorageExports[A-Za-z0-9]+","Arn"\]\}$/,
      );
    }
    const deletes = s3.filter((s) => listOf(s.Action).includes("s3:DeleteObject"));
    const deleted = deletes.flatMap((s) => listOf(s.Resource)).map((r) => JSON.stringify(r));
    // manifests/: the sweep's, a settled export's running-index entry (issue 19).
    expect(deleted.map((r) => /"\/([a-z]+)\/\*"/.exec(r)?.[1]).sort()).toEqual([
      "exports",
      "manifests",
    ]);
  });
});

describe("the export function and the worker", () => {
  it("lets the export function invoke the worker and no other function", () => {
    const invokes = withAction("wavy-sessions-export", "lambda:");
    const { logicalId: worker } = functionOf("wavy-sessions-export-worker");
    expect(invokes.flatMap((s) => listOf(s.Action))).toEqual(["lambda:InvokeFunction"]);
    for (const resource of invokes.flatMap((s) => listOf(s.Resource))) {
      expect(JSON.stringify(resource)).toContain(`"${worker}","Arn"`);
    }
    const { properties } = functionOf("wavy-sessions-export");
    expect((properties.Environment as { Variables: Json }).Variables).toMatchObject({
      EXPORT_WORKER_FUNCTION_NAME: { Ref: worker },
      EXPORT_WORKER_TIMEOUT_SECONDS: "900",
      EVENT_BUS_NAME: "wavy-exports",
    });
  });
});

describe("completion events", () => {
  it.each([
    "wavy-sessions-export",
    "wavy-sessions-export-worker",
    "wavy-sessions-counter",
    // Issue 21: Send Rejected Outside Window.
    "wavy-sessions-window-events",
  ])("%s may events:PutEvents on the configured bus only", (service) => {
    const puts = withAction(service, "events:");
    expect(puts.flatMap((s) => listOf(s.Action))).toEqual(["events:PutEvents"]);
    expect(
      puts.flatMap((s) => listOf(s.Resource)).map((r) => resolve(synthesised.template, r)),
    ).toEqual([BUS_ARN]);
  });

  it("uses the account's default bus unless told otherwise, and refuses a bad bus name", () => {
    const read = (context: Record<string, unknown>) => readConfig((key) => context[key] as never);
    expect(read({}).eventBusName).toBe("default");
    expect(read({ eventBusName: "ops-bus" }).eventBusName).toBe("ops-bus");
    expect(() => read({ eventBusName: "no spaces" })).toThrow(/eventBusName/);
  });
});

describe("scheduled snapshots", () => {
  const scheduleInputs = () =>
    Object.values(resourcesOf(synthesised.template, "AWS::Scheduler::Schedule"))
      .filter((schedule) => String(schedule.Properties.GroupName).endsWith("-counter"))
      .map((schedule) => JSON.parse(String((schedule.Properties.Target as Json).Input)));

  it("send snapshot: true in the input of the snapshot target's schedule only", () => {
    expect(scheduleInputs()).toEqual(
      expect.arrayContaining([
        { customerId: "42" },
        { customerId: "42", subAccountId: "7", snapshot: true },
      ]),
    );
    // The counter's own (strict) schema takes them, snapshot flag included.
    for (const input of scheduleInputs()) {
      expect(CounterEventSchema.safeParse(input).error).toBeUndefined();
    }
  });

  it("give the counter the bucket and write access to exports/, manifests/ and history/ only", () => {
    const { properties } = functionOf("wavy-sessions-counter");
    expect((properties.Environment as { Variables: Json }).Variables).toMatchObject({
      EXPORT_BUCKET: { Ref: expect.stringMatching(/^StorageExports/) },
      EVENT_BUS_NAME: "wavy-exports",
    });
    const s3 = withAction("wavy-sessions-counter", "s3:");
    const actions = new Set(s3.flatMap((s) => listOf(s.Action)));
    expect([...actions].sort()).toEqual([
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      // manifests/ only: a failed snapshot's conditional delete of its manifest (issue 19).
      "s3:GetObject",
      "s3:PutObject",
    ]);
    const suffixes = s3
      .flatMap((s) => listOf(s.Resource))
      .map((r) => String((r as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1].at(-1)));
    expect(new Set(suffixes)).toEqual(new Set(["/exports/*", "/manifests/*", "/history/*"]));
  });

  it(
    "leave a counter without snapshot targets no S3 access and no events",
    () => {
      const plain = synth({ targets: [{ customerId: "42" }] }, { cfnValidation: false });
      const counter = Object.values(resourcesOf(plain.template, "AWS::Lambda::Function")).find(
        (fn) =>
          (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
          "wavy-sessions-counter",
      );
      const actions = statementsOfRole(
        plain.template,
        logicalIdOf(counter?.Properties.Role) ?? "",
      ).flatMap((s) => listOf(s.Action));
      expect(actions.filter((a) => a.startsWith("s3:") || a.startsWith("events:"))).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it("refuses a snapshot flag that is not a boolean in the targets context", () => {
    expect(() =>
      readConfig(
        (key) => (key === "targets" ? [{ customerId: "42", snapshot: "yes" }] : undefined) as never,
      ),
    ).toThrow(/snapshot/);
  });
});

describe("cdk-nag with the worker, events and a snapshot target", () => {
  it("finds nothing unsuppressed", () => {
    expect(nagFindings(synthesised.stack)).toEqual([]);
  });
});
