import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { describe, expect, inject, it } from "vitest";
import { WEBHOOK_REJECTED_PREFIX, WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import { signedFetch } from "../../scripts/signed-fetch.js";
import { motoClients } from "./moto-clients.js";
import { type Credentials, MOTO_BUCKET, REGION } from "./moto-world.js";

/**
 * The live windows' grants against moto with IAM enforcement (issue 20): each role holds
 * credentials restricted to exactly its synthesised policy, and makes the raw calls the
 * interface names (docs/contract.md, "Live windows"): the processor's conditional UpdateItem and
 * its rejected items, the lookups' GetItem and index Query, the counter's index Query, Lambda's
 * polling of the queue with the processor's role, and API Gateway's SendMessage as the
 * integration's request template renders it.
 */
describe("the live windows against moto, each role restricted to its synthesised policy", () => {
  const world = inject("moto");
  const w = world.windows;
  const dynamo = (credentials: Credentials) =>
    new DynamoDBClient({ endpoint: world.endpoint, region: REGION, credentials });
  const sqs = (credentials: Credentials) =>
    new SQSClient({ endpoint: world.endpoint, region: REGION, credentials });
  const processor = dynamo(w.roles.processor);
  const lookup = dynamo(w.roles.lookup);
  const counter = dynamo(world.roles.counter);

  /** The error's name; moto answers a JSON service's AccessDenied in XML, which the SDK cannot parse. */
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => "allowed",
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        error.$metadata?.httpStatusCode === 403 ? "AccessDenied" : String(error.name),
    );

  const window = (destination: string, origin: string, lastInboundAt: string) => {
    const closesAt = new Date(Date.parse(lastInboundAt) + 24 * 3_600_000).toISOString();
    return new UpdateItemCommand({
      TableName: w.tableName,
      Key: {
        [WINDOWS_TABLE.partitionKey]: { S: destination },
        [WINDOWS_TABLE.sortKey]: { S: origin },
      },
      // The forward-only rule of docs/contract.md, "Applying an MO".
      ConditionExpression: "attribute_not_exists(lastInboundAt) OR lastInboundAt < :t",
      UpdateExpression:
        "SET lastInboundAt = :t, closesAt = :c, lastMessageId = :m, seenBy = :s, expiresAt = :e, updatedAt = :u",
      ExpressionAttributeValues: {
        ":t": { S: lastInboundAt },
        ":c": { S: closesAt },
        ":m": { S: `mo-${lastInboundAt}` },
        ":s": { S: "webhook" },
        ":e": { N: String(Math.floor(Date.parse(closesAt) / 1000) + 7 * 86_400) },
        ":u": { S: new Date().toISOString() },
      },
    });
  };

  it("lets the processor move a window forward, and only forward", async () => {
    await processor.send(window("5511900000001", "5511999990000", "2026-12-06T10:00:00.000Z"));
    await processor.send(window("5511900000001", "5511999990000", "2026-12-06T11:00:00.000Z"));
    // An older MO fails the condition: a no-op, as the contract says.
    const older = processor.send(
      window("5511900000001", "5511999990000", "2026-12-06T09:00:00.000Z"),
    );
    expect(await outcome(older)).toBe("ConditionalCheckFailedException");
    const { Item } = await processor.send(
      new GetItemCommand({
        TableName: w.tableName,
        Key: { destination: { S: "5511900000001" }, origin: { S: "5511999990000" } },
      }),
    );
    expect(Item?.lastInboundAt?.S).toBe("2026-12-06T11:00:00.000Z");
    expect(Item?.closesAt?.S).toBe("2026-12-07T11:00:00.000Z");
  });

  it("lets the processor keep a rejected item under webhooks/rejected/ and nowhere else", async () => {
    const { s3 } = motoClients(world, w.roles.processor);
    const put = (Key: string) =>
      outcome(s3.send(new PutObjectCommand({ Bucket: MOTO_BUCKET, Key, Body: "{}" })));
    expect(await put(`${WEBHOOK_REJECTED_PREFIX}mo/2026-12-06/m-0.json`)).toBe("allowed");
    expect(await put("exports/forged.csv")).toBe("AccessDenied");
  });

  it("lets the lookups read one window and query the closing index, never write", async () => {
    const { Items } = await lookup.send(
      new QueryCommand({
        TableName: w.tableName,
        IndexName: WINDOWS_TABLE.closingIndex,
        KeyConditionExpression: "origin = :o AND closesAt BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":o": { S: "5511999990000" },
          ":from": { S: "2026-12-07T00:00:00.000Z" },
          ":to": { S: "2026-12-07T23:59:59.999Z" },
        },
      }),
    );
    expect(Items?.map((item) => item.destination?.S)).toEqual(["5511900000001"]);
    const byDestination = await lookup.send(
      new QueryCommand({
        TableName: w.tableName,
        KeyConditionExpression: "destination = :d",
        ExpressionAttributeValues: { ":d": { S: "5511900000001" } },
      }),
    );
    expect(byDestination.Count).toBe(1);
    expect(
      await outcome(
        lookup.send(window("5511900000002", "5511999990000", "2026-12-06T11:00:00.000Z")),
      ),
    ).toBe("AccessDenied");
  });

  it("lets the counter count an origin's open windows on the index, and nothing else", async () => {
    const { Count } = await counter.send(
      new QueryCommand({
        TableName: w.tableName,
        IndexName: WINDOWS_TABLE.closingIndex,
        Select: "COUNT",
        KeyConditionExpression: "origin = :o AND closesAt > :now",
        ExpressionAttributeValues: {
          ":o": { S: "5511999990000" },
          ":now": { S: "2026-12-06T12:00:00.000Z" },
        },
      }),
    );
    expect(Count).toBe(1);
    const table = counter.send(
      new GetItemCommand({
        TableName: w.tableName,
        Key: { destination: { S: "5511900000001" }, origin: { S: "5511999990000" } },
      }),
    );
    expect(await outcome(table)).toBe("AccessDenied");
  });

  it("accepts the webhook integration's SendMessage as its request template renders it", async () => {
    const body = '{"total": 1, "data": [{"id": "é & ü = +", "source": "5511900000003"}]}\n';
    // API Gateway's $util.urlEncode is Java's URLEncoder (form encoding: space as "+").
    const rendered = w.moRequestTemplate.replace(
      "$util.urlEncode($input.body)",
      new URLSearchParams([["", body]]).toString().slice(1),
    );
    expect(rendered).not.toContain("$");
    const response = await signedFetch(
      new URL(new URL(w.queueUrl).pathname, world.endpoint),
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: rendered,
      },
      { region: REGION, service: "sqs", credentials: w.roles.send },
    );
    expect(response.status, await response.clone().text()).toBe(200);

    // Lambda polls with the processor's role: receive, then delete what was applied.
    const consumer = sqs(w.roles.processor);
    const { Messages } = await consumer.send(
      new ReceiveMessageCommand({
        QueueUrl: w.queueUrl,
        MessageAttributeNames: ["All"],
        WaitTimeSeconds: 1,
      }),
    );
    expect(Messages).toHaveLength(1);
    const [message] = Messages ?? [];
    expect(message?.Body).toBe(body);
    expect(message?.MessageAttributes?.kind).toEqual({ DataType: "String", StringValue: "mo" });
    await consumer.send(
      new DeleteMessageCommand({ QueueUrl: w.queueUrl, ReceiptHandle: message?.ReceiptHandle }),
    );
  });

  it("answers an oversize body with the text the 413 response template looks for", async () => {
    const needle = /#if\(\$input\.body\.contains\("([^"]+)"\)\)/.exec(
      w.badRequestResponseTemplate,
    )?.[1];
    expect(needle).toBeDefined();
    const body = "x".repeat(1024 * 1024 + 1);
    const rendered = w.moRequestTemplate.replace("$util.urlEncode($input.body)", body);
    const response = await signedFetch(
      new URL(new URL(w.queueUrl).pathname, world.endpoint),
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: rendered,
      },
      { region: REGION, service: "sqs", credentials: w.roles.send },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(String(needle));
  });

  it("lets API Gateway's role send to the webhook queue only", async () => {
    const sender = sqs(w.roles.send);
    const send = (QueueUrl: string) =>
      outcome(sender.send(new SendMessageCommand({ QueueUrl, MessageBody: "{}" })));
    expect(await send(w.deadLetterQueueUrl)).toBe("AccessDenied");
    expect(await send(world.otherQueueUrl)).toBe("AccessDenied");
  });

  it("gives the processor no way to read another queue", async () => {
    const read = sqs(w.roles.processor).send(
      new ReceiveMessageCommand({ QueueUrl: world.otherQueueUrl }),
    );
    expect(await outcome(read)).toBe("AccessDenied");
  });
});
