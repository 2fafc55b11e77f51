import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { ClosingNotices } from "../../infra/constructs/closing-notices.js";
import { WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import { evaluate } from "../iam/evaluate.js";
import type { PolicyDocument, RoleModel, Statement } from "../iam/stack-model.js";
import { TEST_ACCOUNT, TEST_REGION } from "../support/aws-names.js";

/**
 * The sweeper's calls evaluated against the policy its construct synthesises, by an IAM
 * evaluator we did not write (test/iam/evaluate.ts). The table and the bus are imported by ARN,
 * so the statements' resources are plain strings the evaluator can match.
 */
const TABLE_ARN = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/windows`;
const INDEX_ARN = `${TABLE_ARN}/index/${WINDOWS_TABLE.closingIndex}`;
const BUS_ARN = `arn:aws:events:${TEST_REGION}:${TEST_ACCOUNT}:event-bus/wavy`;
const OTHER_BUS_ARN = `arn:aws:events:${TEST_REGION}:${TEST_ACCOUNT}:event-bus/default`;

function sweeperRole(): RoleModel {
  const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "IamTest");
  new ClosingNotices(stack, "ClosingNotices", {
    entry: new URL("../../lambdas/closing-notices/handler.ts", import.meta.url).pathname,
    table: dynamodb.TableV2.fromTableArn(stack, "Windows", TABLE_ARN),
    bus: events.EventBus.fromEventBusArn(stack, "Bus", BUS_ARN),
    settings: { "5511999990000": 60 },
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  const template = Template.fromStack(stack);
  const role = Object.keys(template.findResources("AWS::IAM::Role")).find((id) =>
    id.startsWith("ClosingNoticesFunctionRole"),
  );
  expect(role).toBeDefined();
  const attached = Object.values(
    template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } }),
  ) as { Properties: { PolicyName: string; PolicyDocument: PolicyDocument } }[];
  // Statements on resources the template computes (the log group's GetAtt) are left out: the
  // evaluator needs strings, and they are not what this test is about.
  const literal = (statement: Statement) =>
    [statement.Resource].flat().every((resource) => typeof resource === "string");
  return {
    logicalId: role as string,
    arn: `arn:aws:iam::${TEST_ACCOUNT}:role/sweeper`,
    name: "sweeper",
    trustPolicy: { Statement: [] },
    identityPolicies: attached.map(({ Properties }) => ({
      name: Properties.PolicyName,
      policy: {
        ...Properties.PolicyDocument,
        Statement: Properties.PolicyDocument.Statement.filter(literal),
      },
    })),
    managedPolicyArns: [],
  };
}

describe("the sweeper's IAM edges", () => {
  const role = sweeperRole();
  const principal = `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/sweeper/closing-notices`;
  const cases: [string, string, "Allowed" | "ImplicitlyDenied"][] = [
    ["dynamodb:Query", INDEX_ARN, "Allowed"],
    ["dynamodb:Query", TABLE_ARN, "ImplicitlyDenied"],
    ["dynamodb:Scan", INDEX_ARN, "ImplicitlyDenied"],
    ["dynamodb:Scan", TABLE_ARN, "ImplicitlyDenied"],
    ["dynamodb:UpdateItem", TABLE_ARN, "Allowed"],
    ["dynamodb:PutItem", TABLE_ARN, "ImplicitlyDenied"],
    ["dynamodb:DeleteItem", TABLE_ARN, "ImplicitlyDenied"],
    ["events:PutEvents", BUS_ARN, "Allowed"],
    ["events:PutEvents", OTHER_BUS_ARN, "ImplicitlyDenied"],
  ];
  for (const [action, resource, expected] of cases) {
    it(`${expected === "Allowed" ? "allows" : "denies"} ${action} on ${resource.split(":").at(-1)}`, async () => {
      const outcome = await evaluate({ label: action, principal, action, resource, role });
      expect(outcome.decision, outcome.detail).toBe(expected);
    });
  }
});
