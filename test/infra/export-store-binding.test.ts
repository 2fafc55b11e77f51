import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { SYNTH_TIMEOUT_MS, synth } from "./synth.js";
import { listOf, resourcesOf } from "./template.js";

/**
 * Issue 19, item 6: every function reaches the export store through ExportStorage.bind(), which
 * sets its environment, grants per prefix and suppresses cdk-nag's IAM5 for exactly the prefixes
 * granted; and the dead-letter queue is one resource of its own, handed to all who use it.
 */

let template: Template;
beforeAll(() => {
  ({ template } = synth(
    { targets: [{ customerId: "42", snapshot: true }, { customerId: "43" }] },
    { cfnValidation: false },
  ));
}, SYNTH_TIMEOUT_MS);

/** An acknowledged rule as cdk-nag 3 writes it: `AwsSolutions-IAM5[Resource::<…>/exports/*]`. */
interface Suppression {
  id: string;
}

/** `exports` from `{"Fn::Join": ["", [{"Fn::GetAtt": ["StorageExports…", "Arn"]}, "/exports/*"]]}`. */
function prefixOf(resource: unknown, bucketId: string): string | undefined {
  const join = (resource as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  const [head, tail] = join?.[1] ?? [];
  const getAtt = (head as { "Fn::GetAtt"?: string[] } | undefined)?.["Fn::GetAtt"];
  if (getAtt?.[0] !== bucketId || typeof tail !== "string") return undefined;
  return /^\/([a-z-]+)\/\*$/.exec(tail)?.[1];
}

describe("functions bound to the export store", () => {
  it("each suppresses IAM5 for exactly the prefixes it is granted, and reads the store's environment", () => {
    const [bucketId] = Object.entries(resourcesOf(template, "AWS::S3::Bucket")).find(([, b]) =>
      JSON.stringify(b.Properties.LoggingConfiguration ?? "").includes("exports-bucket/"),
    ) ?? [""];
    const functions = resourcesOf(template, "AWS::Lambda::Function");
    const policies = template.findResources("AWS::IAM::Policy") as Record<
      string,
      {
        Properties: {
          Roles: { Ref: string }[];
          PolicyDocument: { Statement: { Resource: unknown }[] };
        };
        Metadata?: { cdk_nag?: { rules_to_suppress?: Suppression[] } };
      }
    >;
    let bound = 0;
    for (const [id, policy] of Object.entries(policies)) {
      const granted = new Set(
        policy.Properties.PolicyDocument.Statement.flatMap((statement) =>
          listOf(statement.Resource).map((resource) => prefixOf(resource, bucketId)),
        ).filter((prefix) => prefix !== undefined),
      );
      const suppressed = new Set(
        (policy.Metadata?.cdk_nag?.rules_to_suppress ?? []).flatMap(
          (rule) =>
            new RegExp(`^AwsSolutions-IAM5\\[Resource::<${bucketId}\\.Arn>/([a-z-]+)/\\*\\]$`).exec(
              rule.id,
            )?.[1] ?? [],
        ),
      );
      expect([...suppressed].sort(), id).toEqual([...granted].sort());
      if (granted.size === 0) continue;
      bound++;
      const roleId = policy.Properties.Roles[0]?.Ref;
      const fn = Object.values(functions).find(
        (f) => (f.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] === roleId,
      );
      if (!fn) throw new Error(`no function for ${id}`);
      const { Variables: variables } = fn.Properties.Environment as {
        Variables: Record<string, unknown>;
      };
      expect(variables.EXPORT_BUCKET, id).toEqual({ Ref: bucketId });
      expect(variables.DOWNLOAD_URL_TTL_SECONDS, id).toMatch(/^\d+$/);
    }
    // The export function, the worker and the counter (a snapshot target is configured).
    // The export function, the worker, the counter and the companion function.
    expect(bound).toBe(4);
  });
});

describe("the dead-letter queue", () => {
  it("keeps the logical id it had when the counter owned it", () => {
    // The webhook ingest's queues (issue 20) are the others.
    expect(Object.keys(resourcesOf(template, "AWS::SQS::Queue"))).toContain(
      "CounterDeadLettersF09C4BAD",
    );
  });

  it("receives the counter's and the worker's failed invocations and the schedules' dead letters", () => {
    const queueArn = { "Fn::GetAtt": ["CounterDeadLettersF09C4BAD", "Arn"] };
    const configs = Object.values(resourcesOf(template, "AWS::Lambda::EventInvokeConfig"));
    expect(configs).toHaveLength(2);
    for (const config of configs) {
      expect(config.Properties.DestinationConfig).toEqual({
        OnFailure: { Destination: queueArn },
      });
    }
    // The targets' counter schedules and the export sweeper's (issue 19).
    const schedules = Object.values(resourcesOf(template, "AWS::Scheduler::Schedule"));
    expect(schedules).toHaveLength(3);
    for (const schedule of schedules) {
      expect(
        (schedule.Properties.Target as { DeadLetterConfig: unknown }).DeadLetterConfig,
      ).toEqual({ Arn: queueArn });
    }
  });
});
