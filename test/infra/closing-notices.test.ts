import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { ClosingNotices } from "../../infra/constructs/closing-notices.js";
import { WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import { nagFindings } from "./synth.js";

/**
 * The sweeper's construct in a stack of its own, with a windows table shaped as issue 20's
 * interface says (the real one is composed at merge), under both cdk-nag packs.
 */
function synthSweeper() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "SweeperTest");
  const table = new dynamodb.TableV2(stack, "Windows", {
    partitionKey: { name: WINDOWS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: WINDOWS_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: WINDOWS_TABLE.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    globalSecondaryIndexes: [
      {
        indexName: WINDOWS_TABLE.closingIndex,
        partitionKey: { name: WINDOWS_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: WINDOWS_TABLE.closingIndexSortKey, type: dynamodb.AttributeType.STRING },
      },
    ],
  });
  const bus = new events.EventBus(stack, "Bus");
  new ClosingNotices(stack, "ClosingNotices", {
    entry: new URL("../../lambdas/closing-notices/handler.ts", import.meta.url).pathname,
    table,
    bus,
    settings: { "5511999990000": 60 },
    logRetention: logs.RetentionDays.ONE_MONTH,
    environment: { POWERTOOLS_METRICS_NAMESPACE: "WavySessions" },
  });
  return { template: Template.fromStack(stack), stack };
}

describe("ClosingNotices construct", () => {
  const { template, stack } = synthSweeper();

  it("passes both cdk-nag packs with no finding left unexplained", () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  it("runs every 5 minutes with no flexible window and no retry", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(5 minutes)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: Match.objectLike({
        Input: "{}",
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 0 },
      }),
    });
  });

  it("passes the table, the bus and the settings in the environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          WINDOWS_TABLE_NAME: Match.anyValue(),
          EVENT_BUS_NAME: Match.anyValue(),
          CLOSING_NOTICES: '{"5511999990000":60}',
          POWERTOOLS_SERVICE_NAME: "wavy-sessions-closing-notices",
        }),
      },
    });
  });

  it("grants Query on the index only, UpdateItem on the table, PutEvents on the bus", () => {
    const policies = template.findResources("AWS::IAM::Policy");
    const statements = Object.values(policies).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties
          .PolicyDocument.Statement,
    ) as { Action: string | string[]; Resource: unknown }[];
    const dynamo = statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith("dynamodb:")),
    );
    expect(dynamo.map((statement) => statement.Action).sort()).toEqual([
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    const query = dynamo.find((statement) => statement.Action === "dynamodb:Query");
    expect(JSON.stringify(query?.Resource)).toContain(`/index/${WINDOWS_TABLE.closingIndex}`);
    const update = dynamo.find((statement) => statement.Action === "dynamodb:UpdateItem");
    expect(JSON.stringify(update?.Resource)).not.toContain("/index/");
    expect(
      statements.some((statement) => [statement.Action].flat().includes("events:PutEvents")),
    ).toBe(true);
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(Scan|PutItem|DeleteItem|\*)/);
  });
});
