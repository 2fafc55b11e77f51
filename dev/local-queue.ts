import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalQueueOptions {
  /** Messages per event at most (the stack's event source: 10). */
  batchSize?: number;
  /** Events in flight at once: Lambda's concurrent instances polling the queue. */
  concurrency?: number;
  /** How long a failed message stays invisible before it is delivered again. */
  visibilityTimeoutMs?: number;
  /** Receives before a message goes to the dead-letter list (the stack's redrive: 5). */
  maxReceiveCount?: number;
  queueArn?: string;
}

interface QueuedMessage {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  sentAt: number;
  receiveCount: number;
}

/**
 * A stand-in for the webhook queue and its Lambda event source, in process: `send` stores a
 * message as SendMessage would, and a poller delivers SQS-shaped events of up to `batchSize`
 * messages to the processor's handler, deletes those it did not report in batchItemFailures,
 * and delivers the reported ones again after the visibility timeout, up to `maxReceiveCount`
 * receives, then keeps them in `deadLetters` (ReportBatchItemFailures semantics:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). A handler that
 * throws fails its whole batch, as in Lambda.
 */
export class LocalQueue {
  readonly deadLetters: QueuedMessage[] = [];
  private readonly waiting: QueuedMessage[] = [];
  private head = 0;
  private invisible = 0;
  private inFlight = 0;
  private handler: SqsHandler | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly options: Required<LocalQueueOptions>;

  constructor(options: LocalQueueOptions = {}) {
    this.options = {
      batchSize: 10,
      concurrency: 2,
      visibilityTimeoutMs: 1_000,
      maxReceiveCount: 5,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:webhooks",
      ...options,
    };
  }

  /** SendMessage: answers the message id once the message is stored. */
  send(body: string, attributes: Record<string, string> = {}): string {
    const messageId = randomUUID();
    this.waiting.push({
      messageId,
      body,
      attributes,
      sentAt: Date.now(),
      receiveCount: 0,
    });
    this.pump();
    return messageId;
  }

  /** Starts delivering to `handler`. */
  consume(handler: SqsHandler): this {
    this.handler = handler;
    this.pump();
    return this;
  }

  /** Messages not yet deleted (waiting, invisible or in flight). */
  get depth(): number {
    return this.waiting.length - this.head + this.invisible + this.inFlightMessages;
  }

  private inFlightMessages = 0;

  /** Resolves once every message has been deleted or dead-lettered. */
  async drained(): Promise<void> {
    if (this.depth === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.handler = undefined;
  }

  private pump(): void {
    if (!this.handler) return;
    while (this.inFlight < this.options.concurrency && this.head < this.waiting.length) {
      // A FIFO read from `head`: a backlog of thousands costs nothing per delivery.
      const batch = this.waiting.slice(this.head, this.head + this.options.batchSize);
      this.head += batch.length;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      void this.deliver(batch);
    }
  }

  /** A failed message comes back after the visibility timeout, at the end of the line. */
  private redeliverLater(message: QueuedMessage): void {
    this.invisible++;
    const timer = setTimeout(() => {
      this.invisible--;
      this.waiting.push(message);
      this.pump();
    }, this.options.visibilityTimeoutMs);
    timer.unref();
  }

  private async deliver(batch: QueuedMessage[]): Promise<void> {
    const handler = this.handler;
    if (!handler) return;
    this.inFlight++;
    this.inFlightMessages += batch.length;
    for (const message of batch) message.receiveCount++;
    let failed: Set<string>;
    try {
      const answer = await handler({ Records: batch.map((m) => this.record(m)) });
      failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      failed = new Set(batch.map((m) => m.messageId));
    }
    this.inFlight--;
    this.inFlightMessages -= batch.length;
    for (const message of batch) {
      if (!failed.has(message.messageId)) continue;
      if (message.receiveCount >= this.options.maxReceiveCount) {
        this.deadLetters.push(message);
      } else {
        this.redeliverLater(message);
      }
    }
    if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.pump();
  }

  private record(message: QueuedMessage): SQSRecord {
    const messageAttributes: SQSRecord["messageAttributes"] = {};
    for (const [name, value] of Object.entries(message.attributes)) {
      messageAttributes[name] = {
        stringValue: value,
        dataType: "String",
        stringListValues: [],
        binaryListValues: [],
      };
    }
    return {
      messageId: message.messageId,
      receiptHandle: `${message.messageId}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes,
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: this.options.queueArn,
      awsRegion: "us-east-1",
    };
  }
}
