import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "./loopback.js";

/** An event as EventBridge delivers it to a rule's target. */
export interface DeliveredEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  /** Not part of the envelope: the bus the entry named, for assertions. */
  eventBusName: string;
}

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
}

/** PutEvents takes at most 10 entries of at most 256 KB each. */
const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

/**
 * An EventBridge stand-in on loopback that the real @aws-sdk/client-eventbridge talks to: the AWS
 * JSON 1.1 protocol (POST /, `X-Amz-Target: AWSEvents.PutEvents`), PutEvents only. It checks what
 * EventBridge checks of an entry (Source, DetailType, Detail as a JSON object, size), keeps each
 * accepted event in EventBridge's delivery envelope, and can be told to refuse entries.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
export class LocalEventBridge {
  readonly events: DeliveredEvent[] = [];
  endpoint = "";
  private server: Server | undefined;
  private refuseNext = 0;
  private hanging = false;
  private readonly listeners = new Set<(event: DeliveredEvent) => void>();

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.endpoint = await listenOnLoopback(this.server, port);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Called with each event accepted from now on (npm start prints them). */
  onEvent(listener: (event: DeliveredEvent) => void): void {
    this.listeners.add(listener);
  }

  /** The next `count` entries are answered as failed entries (FailedEntryCount), as EventBridge does. */
  refuseEntries(count: number): void {
    this.refuseNext = count;
  }

  /** Every PutEvents from now on is read and never answered (an endpoint that hangs). */
  hangPuts(hang: boolean): void {
    this.hanging = hang;
  }

  /** Resolves once `count` events have arrived, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<DeliveredEvent[]> {
    const until = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > until) {
        throw new Error(`Expected ${count} events, got ${this.events.length}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.events;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (this.hanging) return;
    const target = req.headers["x-amz-target"];
    if (req.method !== "POST" || target !== "AWSEvents.PutEvents") {
      return this.fail(res, 400, "UnknownOperationException", `Unsupported ${String(target)}`);
    }
    let body: { Entries?: PutEventsEntry[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
    } catch {
      return this.fail(res, 400, "SerializationException", "Body is not JSON");
    }
    const entries = body.Entries ?? [];
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      return this.fail(res, 400, "ValidationException", "Entries must hold 1 to 10 entries");
    }
    const results = entries.map((entry) => this.accept(entry));
    const failed = results.filter((result) => "ErrorCode" in result).length;
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify({ FailedEntryCount: failed, Entries: results }));
  }

  private accept(
    entry: PutEventsEntry,
  ): { EventId: string } | { ErrorCode: string; ErrorMessage: string } {
    if (this.refuseNext > 0) {
      this.refuseNext--;
      return { ErrorCode: "InternalFailure", ErrorMessage: "Refused by the test" };
    }
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      return {
        ErrorCode: "MalformedDetail",
        ErrorMessage: "Source, DetailType and Detail are required",
      };
    }
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) {
      return { ErrorCode: "EntryTooLarge", ErrorMessage: "An entry is at most 256 KB" };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== "object" || detail === null || Array.isArray(detail)) {
      return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is not a JSON object" };
    }
    const event: DeliveredEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": entry.DetailType,
      source: entry.Source,
      account: "000000000000",
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: process.env.AWS_REGION ?? "us-east-1",
      resources: entry.Resources ?? [],
      detail,
      eventBusName: entry.EventBusName ?? "default",
    };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
    return { EventId: event.id };
  }

  private fail(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify({ __type: type, message }));
  }
}
