import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { SYNTH_TIMEOUT_MS, synth, TEST_TARGETS } from "./synth.js";
import {
  ENV,
  globMatches,
  type Json,
  listOf,
  logicalIdOf,
  resolve,
  resourcesOf,
  type Statement,
  statementsOfRole,
} from "./template.js";

/**
 * What AWS itself requires at each edge between two services (issue 9), checked against the
 * synthesised template with the request context AWS documents for that edge.
 */

/** One synth per context, shared by the blocks that read it (cdk-nag runs; CDK's linter not). */
const synthesised = new Map<string, Template>();
const templateFor = (context: Record<string, unknown>): Template => {
  const key = JSON.stringify(context);
  let found = synthesised.get(key);
  if (!found) {
    found = synth(context, { cfnValidation: false }).template;
    synthesised.set(key, found);
  }
  return found;
};
const DEFAULT = { targets: TEST_TARGETS, alarmEmail: "ops@example.com" };

let template: Template;
beforeAll(() => {
  template = templateFor(DEFAULT);
}, SYNTH_TIMEOUT_MS);

const onlyOne = <T>(values: Record<string, T>): [string, T] => {
  const entries = Object.entries(values);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, T];
};

describe("EventBridge Scheduler -> counter and dead-letter queue", () => {
  // Scheduler assumes the execution role with aws:SourceArn = the schedule GROUP's ARN:
  // https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
  it("can assume the schedules' role: trusted for the group's ARN and the account", () => {
    const [groupId, group] = onlyOne(resourcesOf(template, "AWS::Scheduler::ScheduleGroup"));
    const groupArn = `arn:aws:scheduler:${ENV.region}:${ENV.account}:schedule-group/${String(group.Properties.Name)}`;
    const schedules = Object.values(resourcesOf(template, "AWS::Scheduler::Schedule"));
    expect(schedules).toHaveLength(TEST_TARGETS.length);
    for (const schedule of schedules) {
      const target = schedule.Properties.Target as Json;
      const roleId = logicalIdOf(target.RoleArn);
      const role = resourcesOf(template, "AWS::IAM::Role")[roleId ?? ""];
      if (!role) throw new Error(`no role behind ${JSON.stringify(target.RoleArn)}`);
      const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] })
        .Statement;
      const allowsScheduler = trust.some((statement) => {
        if (statement.Effect !== "Allow") return false;
        const principal = statement.Principal as { Service?: string };
        if (principal.Service !== "scheduler.amazonaws.com") return false;
        const conditions = statement.Condition ?? {};
        const sourceArn = [
          ...["StringEquals", "ArnEquals"].map((op) => [op, conditions[op]?.["aws:SourceArn"]]),
          ...["StringLike", "ArnLike"].map((op) => [op, conditions[op]?.["aws:SourceArn"]]),
        ].filter(([, value]) => value !== undefined) as [string, unknown][];
        const account = resolve(template, conditions.StringEquals?.["aws:SourceAccount"]);
        return (
          account === ENV.account &&
          sourceArn.length === 1 &&
          sourceArn.every(([op, value]) => {
            const arn = resolve(template, value);
            if (typeof arn !== "string") return false;
            return op.endsWith("Like") ? globMatches(arn, groupArn) : arn === groupArn;
          })
        );
      });
      expect(allowsScheduler, `trust policy of ${roleId}`).toBe(true);
      // CloudFormation must create the group before a schedule names it.
      const dependsOnGroup =
        listOf(schedule.DependsOn).includes(groupId) ||
        logicalIdOf(schedule.Properties.GroupName) === groupId;
      expect(dependsOnGroup, "schedule depends on its group").toBe(true);
    }
  });

  it("invokes the counter and dead-letters with that same role", () => {
    for (const schedule of Object.values(resourcesOf(template, "AWS::Scheduler::Schedule"))) {
      const target = schedule.Properties.Target as Json;
      const roleId = logicalIdOf(target.RoleArn) ?? "";
      const statements = statementsOfRole(template, roleId);
      const grants = (action: string, resource: unknown) =>
        statements.some(
          (s) =>
            s.Effect === "Allow" &&
            listOf(s.Action).includes(action) &&
            listOf(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(resource)),
        );
      expect(grants("lambda:InvokeFunction", target.Arn)).toBe(true);
      const deadLetters = (target.DeadLetterConfig as { Arn: unknown }).Arn;
      expect(grants("sqs:SendMessage", deadLetters)).toBe(true);
    }
  });
});
