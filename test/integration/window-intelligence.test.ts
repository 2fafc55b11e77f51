import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalEventBridge } from "../../dev/eventbridge.js";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { sweepClosingNotices } from "../../lambdas/lib/intelligence/closing-notices.js";
import { eventBridgeWindowEvents } from "../../lambdas/lib/intelligence/eventbridge-window-events.js";
import type { WindowEventBus } from "../../lambdas/lib/intelligence/ports.js";
import { reconcileSnapshot } from "../../lambdas/lib/intelligence/reconcile.js";
import { applyStatusCallbacks } from "../../lambdas/lib/intelligence/status-callbacks.js";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { recordInbound } from "../support/windows.js";

/**
 * Window intelligence over loopback: the real @aws-sdk clients against dynalite (DynamoDB's
 * protocol, conditions and index queries) and the EventBridge stand-in (PutEvents).
 */

const BUSINESS = "5511999990000";
const USER = "5511988887777";
const NOW = Date.parse("2026-12-06T12:00:00.000Z");
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

const dynamo = new LocalDynamoDb();
const eventBridge = new LocalEventBridge();
let doc: DynamoDBDocumentClient;
let client: DynamoDBClient;
let ebClient: EventBridgeClient;
let tableName: string;
let store: DynamoDbWindowStore;
let bus: WindowEventBus;
let tables = 0;

beforeAll(async () => {
  await dynamo.start();
  await eventBridge.start();
  doc = dynamo.documentClient();
  client = dynamo.client();
  ebClient = new EventBridgeClient({ endpoint: eventBridge.endpoint });
  bus = eventBridgeWindowEvents(ebClient, "default");
});

afterAll(async () => {
  doc.destroy();
  client.destroy();
  ebClient.destroy();
  await eventBridge.stop();
  await dynamo.stop();
});

beforeEach(async () => {
  // A table per test: nothing one leaves behind changes another.
  tableName = await dynamo.createWindowsTable(`windows-${++tables}`);
  store = new DynamoDbWindowStore(client, tableName);
  eventBridge.events.length = 0;
});

const clockAt = (ms: number) => () => new Date(ms);
const mo = (destination: string, lastInboundAt: number, origin = BUSINESS) =>
  recordInbound(client, tableName, { destination, origin, lastInboundAt: iso(lastInboundAt) });
const item = async (destination: string, origin = BUSINESS) =>
  (await doc.send(new GetCommand({ TableName: tableName, Key: { destination, origin } }))).Item;

describe("status callbacks over DynamoDB and EventBridge", () => {
  it("announces a 210 for a window that closed 5 minutes before the send", async () => {
    const sentAt = NOW - MINUTE;
    await mo(USER, sentAt - 5 * MINUTE - DAY);
    const body = JSON.stringify({
      total: 1,
      data: [
        {
          id: "wamid-1",
          destination: USER,
          origin: BUSINESS,
          sentStatusCode: 210,
          sentStatus: "INVALID_SESSION",
          sentAt,
        },
      ],
    });

    const outcome = await applyStatusCallbacks(body, { store, clock: clockAt(NOW) });
    expect(await bus.put(outcome.events)).toEqual([true]);

    const [event] = await eventBridge.waitFor(1);
    expect(event).toMatchObject({
      source: "wavy-sessions",
      "detail-type": "Send Rejected Outside Window",
      detail: {
        destination: USER,
        code: 210,
        sentAt: iso(sentAt),
        window: { state: "closed", closesAt: iso(sentAt - 5 * MINUTE), closedMinutesBeforeSend: 5 },
      },
    });
  });

  it("announces a 104 to a destination never seen", async () => {
    const body = JSON.stringify({
      total: "1",
      data: [
        { destination: USER, origin: BUSINESS, deliveredStatusCode: "104", sentDate: iso(NOW) },
      ],
    });
    const outcome = await applyStatusCallbacks(body, { store, clock: clockAt(NOW) });
    await bus.put(outcome.events);
    const [event] = await eventBridge.waitFor(1);
    expect(event?.detail).toMatchObject({ code: 104, window: { state: "never-seen" } });
  });
});

describe("closing notices over DynamoDB and EventBridge", () => {
  const sweep = (at: number) =>
    sweepClosingNotices({ [BUSINESS]: 60 }, { store, bus, clock: clockAt(at) });

  it("puts one Window Closing per window instance and records the claim on the item", async () => {
    await mo(USER, NOW + 30 * MINUTE - DAY);
    await sweep(NOW);
    await sweep(NOW + 5 * MINUTE);
    expect(eventBridge.events).toHaveLength(1);
    expect(eventBridge.events[0]).toMatchObject({
      "detail-type": "Window Closing",
      detail: {
        destination: USER,
        origin: BUSINESS,
        closesAt: iso(NOW + 30 * MINUTE),
        minutesLeft: 30,
      },
    });
    expect(await item(USER)).toMatchObject({
      closingNoticeFor: iso(NOW + 30 * MINUTE),
      closingNoticeAt: iso(NOW),
    });
  });

  it("notices a window restarted after its notice only when the new instance nears its end", async () => {
    await mo(USER, NOW + 30 * MINUTE - DAY);
    await sweep(NOW);
    await mo(USER, NOW + 10 * MINUTE);
    await sweep(NOW + 15 * MINUTE);
    expect(eventBridge.events).toHaveLength(1);
    await sweep(NOW + 10 * MINUTE + DAY - 59 * MINUTE);
    expect(eventBridge.events).toHaveLength(2);
    expect(eventBridge.events[1]?.detail).toMatchObject({ closesAt: iso(NOW + 10 * MINUTE + DAY) });
  });

  it("puts exactly one event per window with two sweepers at once", async () => {
    const users = Array.from({ length: 120 }, (_, i) => `55119${String(i).padStart(8, "0")}`);
    for (const [i, user] of users.entries()) await mo(user, NOW + (1 + (i % 59)) * MINUTE - DAY);
    const storeB = new DynamoDbWindowStore(client, tableName);
    const [a, b] = await Promise.all([
      sweep(NOW),
      sweepClosingNotices({ [BUSINESS]: 60 }, { store: storeB, bus, clock: clockAt(NOW) }),
    ]);
    const noticed = eventBridge.events.map(
      (event) => (event.detail as { destination: string }).destination,
    );
    expect(noticed).toHaveLength(120);
    expect(new Set(noticed)).toEqual(new Set(users));
    expect((a.origins[0]?.sent ?? 0) + (b.origins[0]?.sent ?? 0)).toBe(120);
  });

  it("retries next run an event EventBridge refused (its claim was taken back)", async () => {
    await mo(USER, NOW + 30 * MINUTE - DAY);
    eventBridge.refuseEntries(1);
    const first = await sweep(NOW);
    expect(first.origins[0]).toMatchObject({ sent: 0, deferred: 1 });
    expect((await item(USER))?.closingNoticeFor).toBeUndefined();
    await sweep(NOW + 5 * MINUTE);
    expect(eventBridge.events).toHaveLength(1);
  });

  it("pages through the index when Limit is spent on windows already noticed", async () => {
    for (let i = 0; i < 150; i++)
      await mo(`55118${String(i).padStart(8, "0")}`, NOW + 20 * MINUTE - DAY);
    await sweep(NOW);
    expect(eventBridge.events).toHaveLength(150);
    // A later window behind 150 noticed ones (more than one 100-item page): still found.
    await mo(USER, NOW + 40 * MINUTE - DAY);
    await sweep(NOW + MINUTE);
    expect(eventBridge.events).toHaveLength(151);
  });
});

describe("snapshot reconciliation over DynamoDB", () => {
  const saoPaulo = (ms: number) =>
    iso(ms - 3 * HOUR)
      .slice(0, 19)
      .replace("T", " ");
  const utc = (ms: number) => iso(ms).slice(0, 19).replace("T", " ");
  const deps = () => ({
    store,
    clock: clockAt(NOW),
    timeZone: "America/Sao_Paulo",
    retentionDays: 7,
  });

  it("adds the windows the webhook missed with seenBy snapshot, and counts the drift", async () => {
    await mo("5511900000001", NOW - 2 * HOUR);
    await mo("5511900000002", NOW - 3 * HOUR);
    const result = await reconcileSnapshot(
      {
        target: { customerId: "42", subAccountId: null },
        origins: [BUSINESS],
        measuredAt: new Date(NOW - 10_000),
        rows: [
          { destination: "5511900000001", sessionCreatedAt: saoPaulo(NOW - 2 * HOUR) },
          { destination: "5511900000003", sessionCreatedAt: saoPaulo(NOW - 5 * HOUR) },
        ],
      },
      deps(),
    );
    expect(result.drift).toEqual([
      { origin: BUSINESS, onlyInSnapshot: 1, onlyLive: 1, written: 1 },
    ]);
    expect(await item("5511900000003")).toMatchObject({
      lastInboundAt: iso(NOW - 5 * HOUR),
      closesAt: iso(NOW - 5 * HOUR + DAY),
      seenBy: "snapshot",
      expiresAt: (NOW - 5 * HOUR + DAY) / 1000 + 7 * 86_400,
    });
    // An MO arriving later still moves the snapshot's window forward (the webhook's own rule)...
    expect(await mo("5511900000003", NOW - HOUR)).toBe(true);
    // ...and a snapshot never moves a window backward.
    expect(
      await store.advance({
        destination: "5511900000003",
        origin: BUSINESS,
        seenBy: "snapshot",
        lastInboundAt: iso(NOW - 5 * HOUR),
        closesAt: iso(NOW - 5 * HOUR + DAY),
        expiresAt: 0,
        updatedAt: iso(NOW),
      }),
    ).toBe(false);
    expect(await item("5511900000003")).toMatchObject({ seenBy: "webhook" });
  });

  it("measures a CSV written in UTC while WAVY_TIMEZONE says São Paulo: 0, alarm condition", async () => {
    const rows = [];
    for (let i = 1; i <= 5; i++) {
      const user = `551190000000${i}`;
      await mo(user, NOW - i * HOUR);
      rows.push({ destination: user, sessionCreatedAt: utc(NOW - i * HOUR + 1_000) });
    }
    const result = await reconcileSnapshot(
      {
        target: { customerId: "42", subAccountId: "7" },
        origins: [BUSINESS],
        measuredAt: new Date(NOW),
        rows,
      },
      deps(),
    );
    expect(result.zone).toMatchObject({
      decided: true,
      offsetMinutes: 0,
      expectedOffsetMinutes: -180,
      mismatch: true,
    });
    expect(result.metrics).toContainEqual({
      name: "CsvZoneMismatch",
      dimensions: { CustomerId: "42", SubAccountId: "7" },
      value: 1,
      unit: "Count",
    });
  });
});
