import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { LocalQueue } from "../../dev/local-queue.js";

/** The queue stand-in keeps the event source's contract, which the processor's tests rely on. */
describe("the local webhook queue", () => {
  it("delivers batches of at most 10 with the kind attribute, as the event source does", async () => {
    const batches: SQSEvent[] = [];
    const queue = new LocalQueue({ concurrency: 1 });
    for (let i = 0; i < 25; i++) queue.send(`body ${i}`, { kind: "mo" });

    queue.consume(async (event) => {
      batches.push(event);
      return { batchItemFailures: [] };
    });
    await queue.drained();

    expect(batches.map((b) => b.Records.length)).toEqual([10, 10, 5]);
    expect(batches[0]?.Records[0]).toMatchObject({
      body: "body 0",
      eventSource: "aws:sqs",
      messageAttributes: { kind: { stringValue: "mo", dataType: "String" } },
    });
  });

  it("delivers again only the reported failures, then dead-letters them after 5 receives", async () => {
    const received = new Map<string, number>();
    const queue = new LocalQueue({ visibilityTimeoutMs: 5 });
    queue.send("good");
    queue.send("bad");

    queue.consume(async (event) => {
      for (const record of event.Records)
        received.set(record.body, (received.get(record.body) ?? 0) + 1);
      return {
        batchItemFailures: event.Records.filter((r) => r.body === "bad").map((r) => ({
          itemIdentifier: r.messageId,
        })),
      };
    });
    await queue.drained();

    expect(Object.fromEntries(received)).toEqual({ good: 1, bad: 5 });
    expect(queue.deadLetters.map((m) => m.body)).toEqual(["bad"]);
  });

  it("fails the whole batch when the handler throws, as Lambda does", async () => {
    let received = 0;
    const queue = new LocalQueue({ visibilityTimeoutMs: 5, maxReceiveCount: 2 });
    queue.send("a");
    queue.send("b");

    queue.consume(async (event) => {
      received += event.Records.length;
      throw new Error("crash");
    });
    await queue.drained();

    expect(received).toBe(4);
    expect(queue.deadLetters).toHaveLength(2);
  });
});
