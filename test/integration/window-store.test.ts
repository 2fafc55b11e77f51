import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { MemoryWindowStore } from "../../lambdas/lib/windows/memory-window-store.js";
import { type WindowWrite, windowWrite } from "../../lambdas/lib/windows/window.js";
import type { ClosingPosition, WindowStore } from "../../lambdas/lib/windows/window-store.js";

/**
 * The windows table's one port, the same cases over both adapters: the DynamoDB adapter against
 * dynalite (the real SDK, the stack's key schema and index) and the in-memory store the unit
 * tests use, so the unit tests' answers are the table's.
 */

const NOW = Date.parse("2026-12-06T12:00:00.000Z");
const HOUR = 3_600_000;
const BUSINESS = "5511999990000";
const OTHER = "5511888880000";
const iso = (ms: number) => new Date(ms).toISOString();

const mo = (destination: string, receivedAtMs: number, origin = BUSINESS, id = "mo-1") =>
  windowWrite({ id, destination, origin, receivedAtMs }, { retentionDays: 7, nowMs: NOW });

const snapshot = (destination: string, atMs: number): WindowWrite => ({
  destination,
  origin: BUSINESS,
  lastInboundAt: iso(atMs),
  closesAt: iso(atMs + 24 * HOUR),
  seenBy: "snapshot",
  expiresAt: 0,
  updatedAt: iso(NOW),
});

const dynamo = new LocalDynamoDb();
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  await dynamo.start();
  client = dynamo.client();
  doc = dynamo.documentClient();
});

afterAll(async () => {
  client.destroy();
  doc.destroy();
  await dynamo.stop();
});

/** A fresh store, and how to read an item whole (bookkeeping included). */
type Adapter = () => Promise<{
  store: WindowStore;
  item: (destination: string, origin?: string) => Promise<Record<string, unknown> | undefined>;
}>;

const adapters: [string, Adapter][] = [
  [
    "DynamoDB (dynalite)",
    async () => {
      const tableName = await dynamo.createWindowsTable(`store-${++tables}`);
      return {
        store: new DynamoDbWindowStore(client, tableName),
        item: async (destination, origin = BUSINESS) =>
          (await doc.send(new GetCommand({ TableName: tableName, Key: { destination, origin } })))
            .Item,
      };
    },
  ],
  [
    "in memory",
    async () => {
      const store = new MemoryWindowStore();
      return {
        store,
        item: async (destination, origin = BUSINESS) => {
          const stored = store.item({ destination, origin });
          return stored && { ...stored };
        },
      };
    },
  ],
];

describe.each(adapters)("the window store, %s", (_name, adapter) => {
  it("moves a window forward only, whoever writes it", async () => {
    const { store } = await adapter();
    expect(await store.advance(mo("5511900000001", NOW - 2 * HOUR))).toBe(true);
    expect(await store.advance(mo("5511900000001", NOW - 2 * HOUR, BUSINESS, "replay"))).toBe(
      false,
    );
    expect(await store.advance(snapshot("5511900000001", NOW - 3 * HOUR))).toBe(false);
    expect(await store.advance(mo("5511900000001", NOW - HOUR, BUSINESS, "mo-2"))).toBe(true);

    expect(await store.windowOf({ destination: "5511900000001", origin: BUSINESS })).toEqual({
      destination: "5511900000001",
      origin: BUSINESS,
      lastInboundAt: iso(NOW - HOUR),
      closesAt: iso(NOW + 23 * HOUR),
      seenBy: "webhook",
      lastMessageId: "mo-2",
    });
  });

  it("a snapshot's write removes the older MO's id and keeps a notice's claim", async () => {
    const { store, item } = await adapter();
    await store.advance(mo("5511900000001", NOW - 5 * HOUR));
    const closesAt = iso(NOW + 19 * HOUR);
    expect(
      await store.claimClosingNotice(
        { destination: "5511900000001", origin: BUSINESS },
        closesAt,
        iso(NOW),
      ),
    ).toBe(true);

    expect(await store.advance(snapshot("5511900000001", NOW - 4 * HOUR))).toBe(true);

    const stored = await item("5511900000001");
    expect(stored).toMatchObject({
      seenBy: "snapshot",
      lastInboundAt: iso(NOW - 4 * HOUR),
      closingNoticeFor: closesAt,
    });
    expect(stored).not.toHaveProperty("lastMessageId");
    expect(stored?.expiresAt).toBe(0);
  });

  // Moved from window-intelligence.test.ts, which ran it against dynalite only.
  it("takes back only its own claim, and claims a window instance once", async () => {
    const { store, item } = await adapter();
    const key = { destination: "5511900000001", origin: BUSINESS };
    await store.advance(mo(key.destination, NOW - 23 * HOUR));
    const closesAt = iso(NOW + HOUR);
    expect(await store.claimClosingNotice(key, closesAt, iso(NOW))).toBe(true);
    expect(await store.claimClosingNotice(key, closesAt, iso(NOW + 1))).toBe(false);
    // Another sweeper's release (another claimedAt) leaves the claim in place.
    await store.releaseClosingNotice(key, closesAt, iso(NOW + 1));
    expect((await store.windowOf(key, { consistent: true }))?.closingNoticeFor).toBe(closesAt);
    await store.releaseClosingNotice(key, closesAt, iso(NOW));
    expect((await store.windowOf(key))?.closingNoticeFor).toBeUndefined();
    // A closesAt the item no longer has, or an item that does not exist, is never claimed.
    expect(await store.claimClosingNotice(key, iso(NOW + 2 * HOUR), iso(NOW))).toBe(false);
    const missing = { destination: "5511900000404", origin: BUSINESS };
    expect(await store.claimClosingNotice(missing, closesAt, iso(NOW))).toBe(false);
    expect(await item(missing.destination)).toBeUndefined();
  });

  it("pages an origin's windows by closesAt, leaving noticed ones out after the limit", async () => {
    const { store } = await adapter();
    for (let i = 1; i <= 5; i++) await store.advance(mo(`551190000000${i}`, NOW - i * HOUR));
    await store.advance(mo("5511900000009", NOW - HOUR, OTHER));
    const noticed = { destination: "5511900000004", origin: BUSINESS };
    await store.claimClosingNotice(noticed, iso(NOW + 20 * HOUR), iso(NOW));

    const pages: string[][] = [];
    let startAfter: ClosingPosition | undefined;
    do {
      const page = await store.closingWindows({
        origin: BUSINESS,
        from: iso(NOW),
        to: iso(NOW + 22 * HOUR),
        limit: 2,
        unnoticedOnly: true,
        startAfter,
      });
      pages.push(page.windows.map((window) => window.destination));
      startAfter = page.next;
    } while (startAfter);

    // Closing soonest first: opened 5 h ago (closes in 19 h), then 4 h (noticed), 3 h, 2 h;
    // 1 h ago closes past `to`. The noticed window leaves its page short, not the paging.
    expect(pages.flat()).toEqual(["5511900000005", "5511900000003", "5511900000002"]);
    expect(pages[0]).toEqual(["5511900000005"]);
    expect(await store.countClosingAfter(BUSINESS, iso(NOW + 20 * HOUR))).toBe(3);
    expect(await store.countClosingAfter(OTHER, iso(NOW))).toBe(1);
  });

  it("lists a destination's windows by origin", async () => {
    const { store } = await adapter();
    await store.advance(mo("5511900000001", NOW - HOUR, OTHER));
    await store.advance(mo("5511900000001", NOW - 2 * HOUR, BUSINESS));
    expect(
      (await store.windowsOf("5511900000001")).map((window) => [window.origin, window.seenBy]),
    ).toEqual([
      [OTHER, "webhook"],
      [BUSINESS, "webhook"],
    ]);
    expect(await store.windowsOf("5511000000000")).toEqual([]);
  });
});
