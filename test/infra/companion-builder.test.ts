import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPANION } from "../../lambdas/lib/contract.js";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth } from "./synth.js";
import { type Json, listOf, logicalIdOf, resourcesOf, statementsOfRole } from "./template.js";

/**
 * Issue 19 item 3 in the template: the companion function, the rule that starts it on every
 * Export Succeeded, both hops' retries and the dead-letter queue, and the L2's policies.
 */
let synthesised: Synthesised;
beforeAll(() => {
  synthesised = synth({ eventBusName: "wavy-exports" }, { cfnValidation: false });
}, SYNTH_TIMEOUT_MS);

const companionFunction = () => {
  const entry = Object.entries(resourcesOf(synthesised.template, "AWS::Lambda::Function")).find(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
      "wavy-sessions-companion",
  );
  if (!entry) throw new Error("no companion function");
  return { logicalId: entry[0], properties: entry[1].Properties };
};
const ruleOf = () => {
  const rules = Object.entries(resourcesOf(synthesised.template, "AWS::Events::Rule")).filter(
    ([, rule]) => JSON.stringify(rule.Properties.EventPattern).includes("Export Succeeded"),
  );
  expect(rules).toHaveLength(1);
  return rules[0] as [string, { Properties: Json }];
};

describe("the companion builder", () => {
  it("matches every Export Succeeded of wavy-sessions on the stack's bus", () => {
    const [, rule] = ruleOf();
    expect(rule.Properties.EventBusName).toBe("wavy-exports");
    expect(rule.Properties.EventPattern).toEqual({
      source: ["wavy-sessions"],
      "detail-type": ["Export Succeeded"],
    });
  });

  it("targets the companion function with retries, an event age and the dead-letter queue", () => {
    const [, rule] = ruleOf();
    const { logicalId } = companionFunction();
    const [target] = rule.Properties.Targets as Json[];
    expect(target).toMatchObject({
      Arn: { "Fn::GetAtt": [logicalId, "Arn"] },
      RetryPolicy: {
        MaximumRetryAttempts: COMPANION.deliveryRetryAttempts,
        MaximumEventAgeInSeconds: COMPANION.maxEventAgeMinutes * 60,
      },
      DeadLetterConfig: {
        Arn: { "Fn::GetAtt": [expect.stringMatching(/^CompanionsDeadLetters/), "Arn"] },
      },
    });
  });

  it("lets EventBridge invoke the function for this rule only (resource-based policy)", () => {
    const [ruleId] = ruleOf();
    const { logicalId } = companionFunction();
    synthesised.template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [logicalId, "Arn"] },
      Principal: "events.amazonaws.com",
      SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
    });
  });

  it("lets EventBridge send this rule's undelivered events to the queue, over TLS only, encrypted", () => {
    const [ruleId] = ruleOf();
    synthesised.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
          Match.objectLike({
            Action: "sqs:SendMessage",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [ruleId, "Arn"] } } },
          }),
        ]),
      },
    });
    const queues = Object.entries(resourcesOf(synthesised.template, "AWS::SQS::Queue")).filter(
      ([id]) => id.startsWith("CompanionsDeadLetters"),
    );
    expect(queues).toHaveLength(1);
    expect(queues[0]?.[1].Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("leaves Lambda's retries at their defaults, then sends the event to the same queue", () => {
    const { logicalId, properties } = companionFunction();
    expect(properties.DeadLetterConfig).toEqual({
      TargetArn: { "Fn::GetAtt": [expect.stringMatching(/^CompanionsDeadLetters/), "Arn"] },
    });
    // No EventInvokeConfig: Lambda's defaults, 2 retries within 6 h.
    const configs = Object.values(
      resourcesOf(synthesised.template, "AWS::Lambda::EventInvokeConfig"),
    ).filter((c) => JSON.stringify(c.Properties.FunctionName).includes(logicalId));
    expect(configs).toEqual([]);
    expect(COMPANION.invokeRetryAttempts).toBe(2);
    const roleId = logicalIdOf(properties.Role) ?? "";
    const sends = statementsOfRole(synthesised.template, roleId).filter((s) =>
      listOf(s.Action).includes("sqs:SendMessage"),
    );
    expect(sends).toHaveLength(1);
  });

  it("is watched by the stack's DeadLetters alarm", () => {
    const alarms = Object.values(
      resourcesOf(synthesised.template, "AWS::CloudWatch::Alarm"),
    ).filter((a) => String(a.Properties.AlarmName).endsWith("/DeadLetters"));
    expect(alarms).toHaveLength(1);
    expect(JSON.stringify(alarms[0]?.Properties.Metrics)).toContain("CompanionsDeadLetters");
  });

  it("reads exports/ and manifests/, writes only sessions/, and has its timeout and environment", () => {
    const { properties } = companionFunction();
    expect(properties.Timeout).toBe(COMPANION.timeoutSeconds);
    expect((properties.Environment as { Variables: Json }).Variables).toMatchObject({
      EXPORT_BUCKET: { Ref: expect.stringMatching(/^StorageExports/) },
      WAVY_TIMEZONE: "America/Sao_Paulo",
    });
    const roleId = logicalIdOf(properties.Role) ?? "";
    const s3 = statementsOfRole(synthesised.template, roleId).filter((s) =>
      listOf(s.Action).some((a) => a.startsWith("s3:")),
    );
    const granted = s3.flatMap((s) =>
      listOf(s.Action).flatMap((action) =>
        listOf(s.Resource).map(
          (r) => `${action} ${JSON.stringify(r).match(/\/(\w+)\/\*/)?.[1] ?? "bucket"}`,
        ),
      ),
    );
    expect(granted.sort()).toEqual(
      [
        "s3:AbortMultipartUpload sessions",
        "s3:DeleteObject sessions",
        "s3:GetObject exports",
        "s3:GetObject manifests",
        "s3:GetObject sessions",
        "s3:ListBucket bucket",
        "s3:PutObject sessions",
      ].sort(),
    );
  });
});
