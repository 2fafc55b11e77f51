import {
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { describe, expect, inject, it } from "vitest";
import { CLOSING_NOTICES, EVENT, WINDOW_EVENT, WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import { type Credentials, REGION } from "./moto-world.js";

/**
 * Issue 21's closing-notice sweeper against moto with IAM enforcement: its role, restricted to
 * exactly its synthesised policy, makes the calls docs/contract.md ("Closing notices") names —
 * a Query of the index, the claim's conditional UpdateItem, PutEvents — and is refused a Scan.
 */
describe("the closing-notice sweeper against moto, restricted to its synthesised policy", () => {
  const world = inject("moto");
  const w = world.windows;
  // Not the origin windows.test.ts counts: the files share the table.
  const ORIGIN = "5521999990000";
  const DESTINATION = "5511900000042";
  const dynamo = (credentials: Credentials) =>
    new DynamoDBClient({ endpoint: world.endpoint, region: REGION, credentials });
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => "allowed",
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        error.$metadata?.httpStatusCode === 403 ? "AccessDenied" : String(error.name),
    );

  it("may Query the index, claim with UpdateItem and PutEvents, and may not Scan", async () => {
    const sweeperCredentials = w.roles.sweeper;
    expect(sweeperCredentials).toBeDefined();
    const sweeper = dynamo(sweeperCredentials as Credentials);
    const closesAt = new Date(Date.now() + 30 * 60_000).toISOString();
    // A window closing in 30 minutes, written by the set-up's administrator.
    await dynamo(world.admin).send(
      new PutItemCommand({
        TableName: w.tableName,
        Item: {
          [WINDOWS_TABLE.partitionKey]: { S: DESTINATION },
          [WINDOWS_TABLE.sortKey]: { S: ORIGIN },
          lastInboundAt: { S: new Date(Date.parse(closesAt) - 86_400_000).toISOString() },
          closesAt: { S: closesAt },
          seenBy: { S: "webhook" },
        },
      }),
    );

    const { Items } = await sweeper.send(
      new QueryCommand({
        TableName: w.tableName,
        IndexName: WINDOWS_TABLE.closingIndex,
        KeyConditionExpression: "origin = :o AND closesAt BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":o": { S: ORIGIN },
          ":from": { S: new Date().toISOString() },
          ":to": { S: new Date(Date.now() + 60 * 60_000).toISOString() },
        },
      }),
    );
    expect(Items?.map((item) => item.destination?.S)).toContain(DESTINATION);

    const claim = () =>
      sweeper.send(
        new UpdateItemCommand({
          TableName: w.tableName,
          Key: {
            [WINDOWS_TABLE.partitionKey]: { S: DESTINATION },
            [WINDOWS_TABLE.sortKey]: { S: ORIGIN },
          },
          ConditionExpression: "closesAt = :c AND (attribute_not_exists(#for) OR #for <> :c)",
          UpdateExpression: "SET #for = :c, #at = :now",
          ExpressionAttributeNames: {
            "#for": CLOSING_NOTICES.claimAttribute,
            "#at": CLOSING_NOTICES.claimedAtAttribute,
          },
          ExpressionAttributeValues: {
            ":c": { S: closesAt },
            ":now": { S: new Date().toISOString() },
          },
        }),
      );
    expect(await outcome(claim())).toBe("allowed");
    // The second claim of the same window instance fails its condition, not its permission.
    expect(await outcome(claim())).toBe("ConditionalCheckFailedException");

    const events = new EventBridgeClient({
      endpoint: world.endpoint,
      region: REGION,
      credentials: sweeperCredentials as Credentials,
    });
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT.source,
            DetailType: WINDOW_EVENT.closing,
            Detail: JSON.stringify({ destination: DESTINATION, origin: ORIGIN, closesAt }),
            EventBusName: EVENT.defaultBusName,
          },
        ],
      }),
    );
    expect(put.FailedEntryCount ?? 0).toBe(0);

    expect(await outcome(sweeper.send(new ScanCommand({ TableName: w.tableName })))).toBe(
      "AccessDenied",
    );
    events.destroy();
    sweeper.destroy();
  });
});
