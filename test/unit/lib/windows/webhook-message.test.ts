import { describe, expect, it } from "vitest";
import { MemoryWindowStore } from "../../../../lambdas/lib/windows/memory-window-store.js";
import {
  applyWebhookMessage,
  type RejectedItemDocument,
  type StatusCallbacks,
  StatusEventsRefused,
  type WebhookDeps,
} from "../../../../lambdas/lib/windows/webhook-message.js";

const NOW = Date.parse("2026-12-06T12:00:00.000Z");
const USER = "5511987654321";
const BUSINESS = "5511999990000";

const noStatusPath: StatusCallbacks = async () => {
  throw new Error("no status message expected");
};

function mo(id: string, receivedAt: unknown, extra: Record<string, unknown> = {}) {
  return { id, source: USER, origin: BUSINESS, receivedAt, ...extra };
}

function world(statusCallbacks: StatusCallbacks = noStatusPath) {
  const store = new MemoryWindowStore();
  const kept: { key: string; document: RejectedItemDocument }[] = [];
  const warnings: string[] = [];
  const deps: WebhookDeps = {
    store,
    rejected: { keep: async (key, document) => void kept.push({ key, document }) },
    statusCallbacks,
    nowMs: () => NOW,
    retentionDays: 7,
    logger: { warn: (message, extra) => void warnings.push(`${message} ${JSON.stringify(extra)}`) },
  };
  const apply = (body: unknown, kind = "mo", messageId = "m-1") =>
    applyWebhookMessage(
      { messageId, kind, body: typeof body === "string" ? body : JSON.stringify(body) },
      deps,
    );
  return { store, kept, warnings, apply };
}

describe("applying an MO bulk", () => {
  it("opens the window at receivedAt and closes it 24 h later, with TTL after the retention", async () => {
    const { store, apply } = world();
    const at = NOW - 3_600_000;

    const outcome = await apply({ total: 1, data: [mo("a", at)] });

    expect(outcome).toMatchObject({ kind: "mo", applied: 1, moved: 1, rejected: 0 });
    const item = store.items.get(`${USER}\u0000${BUSINESS}`);
    expect(item).toMatchObject({
      lastInboundAt: "2026-12-06T11:00:00.000Z",
      closesAt: "2026-12-07T11:00:00.000Z",
      lastMessageId: "a",
      seenBy: "webhook",
      expiresAt: Date.parse("2026-12-07T11:00:00.000Z") / 1000 + 7 * 86_400,
    });
  });

  it("treats a replayed message id as a no-op", async () => {
    const { store, apply } = world();
    await apply({ data: [mo("a", NOW - 60_000)] });

    const again = await apply({ data: [mo("a", NOW - 60_000)] }, "mo", "m-2");

    expect(again).toMatchObject({ applied: 1, moved: 0 });
    expect(store.items.get(`${USER}\u0000${BUSINESS}`)?.lastMessageId).toBe("a");
  });

  it("ignores an MO older than the window's latest (out of order)", async () => {
    const { store, apply } = world();
    await apply({ data: [mo("new", NOW - 60_000)] });

    const late = await apply({ data: [mo("old", NOW - 7_200_000)] }, "mo", "m-2");

    expect(late.moved).toBe(0);
    expect(store.items.get(`${USER}\u0000${BUSINESS}`)).toMatchObject({
      lastMessageId: "new",
      lastInboundAt: new Date(NOW - 60_000).toISOString(),
    });
  });

  it("folds one bulk's MOs for the same window into one write, the latest winning", async () => {
    const { store, apply } = world();

    const outcome = await apply({
      data: [mo("1", NOW - 3_000), mo("2", NOW - 1_000), mo("3", NOW - 2_000)],
    });

    expect(outcome).toMatchObject({ applied: 3, moved: 1 });
    expect(store.calls.filter((call) => call === "advance")).toHaveLength(1);
    expect(store.items.get(`${USER}\u0000${BUSINESS}`)?.lastMessageId).toBe("2");
  });

  it("accepts receivedAt, total and campaignId as strings", async () => {
    const { store, apply } = world();

    const outcome = await apply({
      total: "1",
      data: [mo("s", String(NOW - 5_000), { campaignId: "100" })],
    });

    expect(outcome).toMatchObject({ applied: 1, rejected: 0 });
    expect(store.items.get(`${USER}\u0000${BUSINESS}`)?.lastInboundAt).toBe(
      new Date(NOW - 5_000).toISOString(),
    );
  });

  it("reads the swapped field table too: ISO in receivedAt, epoch ms in receivedDate", async () => {
    const { store, apply } = world();
    const other = { ...mo("x", "2026-12-06T10:00:00.000Z"), source: "5521900000001" };
    const swapped = { id: "y", source: USER, origin: BUSINESS, receivedDate: NOW - 1_000 };

    const outcome = await apply({ data: [other, swapped] });

    expect(outcome.rejected).toBe(0);
    expect(store.items.get(`5521900000001\u0000${BUSINESS}`)?.lastInboundAt).toBe(
      "2026-12-06T10:00:00.000Z",
    );
    expect(store.items.get(`${USER}\u0000${BUSINESS}`)?.lastInboundAt).toBe(
      new Date(NOW - 1_000).toISOString(),
    );
  });

  it("keeps a bad item with its reason and applies the rest of the bulk", async () => {
    const { store, kept, apply } = world();

    const outcome = await apply({
      data: [mo("good", NOW - 1_000), { id: "bad", source: USER, receivedAt: NOW }, "nonsense"],
    });

    expect(outcome).toMatchObject({ applied: 1, moved: 1, rejected: 2 });
    expect(store.items.size).toBe(1);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.key).toBe("webhooks/rejected/mo/2026-12-06/m-1.json");
    expect(kept[0]?.document).toMatchObject({ messageId: "m-1", kind: "mo" });
    expect(kept[0]?.document.items.map((i) => i.index)).toEqual([1, 2]);
    expect(kept[0]?.document.items[0]?.reason).toMatch(/origin/);
    expect(kept[0]?.document.items[1]?.item).toBe("nonsense");
  });

  it("writes one object and one log line for a body of many bad items", async () => {
    const { kept, warnings, apply } = world();

    const outcome = await apply({ data: Array.from({ length: 1_000 }, () => 1) });

    expect(outcome.rejected).toBe(1_000);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.document.items).toHaveLength(1_000);
    expect(warnings).toHaveLength(1);
  });

  it.each([
    ["epoch seconds", Math.floor(NOW / 1000), /before 2010/],
    ["a time an hour ahead", NOW + 3_600_000, /future/],
    ["a zone-less time", "2026-12-06 10:00:00", /neither/],
    ["nothing", undefined, /neither/],
  ])("rejects an MO whose receivedAt is %s", async (_name, receivedAt, reason) => {
    const { kept, apply } = world();

    const outcome = await apply({ data: [mo("t", receivedAt)] });

    expect(outcome.rejected).toBe(1);
    expect(kept[0]?.document.items[0]?.reason).toMatch(reason);
  });

  it("keeps a body that is not JSON whole, as the raw text", async () => {
    const { kept, apply } = world();

    const outcome = await apply("{not json");

    expect(outcome).toMatchObject({ applied: 0, rejected: 1 });
    expect(kept[0]).toMatchObject({
      key: "webhooks/rejected/mo/2026-12-06/m-1.json",
      document: { items: [{ index: "body", item: "{not json", reason: "the body is not JSON" }] },
    });
  });

  it("masks the numbers of a rejected item in its log line", async () => {
    const { warnings, apply } = world();

    await apply({ data: [{ id: "z", source: USER, origin: BUSINESS, receivedAt: "soon" }] });

    expect(warnings.join("\n")).toContain("*********4321");
    expect(warnings.join("\n")).not.toContain(USER);
  });
});

describe("a status bulk (window intelligence)", () => {
  const status = (id: string, sentStatusCode?: unknown) => ({
    id,
    destination: USER,
    origin: BUSINESS,
    sentStatusCode,
  });
  const point = { name: "DeliveryOutcomes", dimensions: {}, value: 1, unit: "Count" as const };

  it("hands the body to window intelligence, keeps what it rejects with the item, changes no window", async () => {
    const bodies: string[] = [];
    const { store, kept, apply } = world(async (body) => {
      bodies.push(body);
      return {
        rejected: [{ index: 1, reason: "unreadable destination" }],
        eventsRefused: 0,
        metrics: [point],
      };
    });

    const outcome = await apply({ data: [status("1", 210), { id: 5 }] }, "status");

    expect(bodies).toHaveLength(1);
    expect(outcome).toMatchObject({ kind: "status", rejected: 1, points: [point] });
    expect(kept[0]?.key).toMatch(/^webhooks\/rejected\/status\//);
    expect(kept[0]?.document.items).toEqual([
      { index: 1, reason: "unreadable destination", item: { id: 5 } },
    ]);
    expect(store.items.size).toBe(0);
  });

  it("keeps a body window intelligence cannot read whole", async () => {
    const { kept, apply } = world(async () => ({
      rejected: [{ index: -1, reason: "the body is not JSON" }],
      eventsRefused: 0,
      metrics: [],
    }));

    await apply("not json", "status");

    expect(kept[0]?.document.items).toEqual([
      { index: "body", reason: "the body is not JSON", item: "not json" },
    ]);
  });

  it("fails the message, keeping and counting nothing, when the bus refused an event", async () => {
    const { kept, apply } = world(async () => ({
      rejected: [{ index: 1, reason: "bad" }],
      eventsRefused: 1,
      metrics: [point],
    }));

    await expect(apply({ data: [status("1", 210), {}] }, "status")).rejects.toBeInstanceOf(
      StatusEventsRefused,
    );
    expect(kept).toEqual([]);
  });

  it("rejects a message of an unknown kind whole", async () => {
    const { kept, apply } = world();

    const outcome = await apply({ data: [] }, "other");

    expect(outcome).toMatchObject({ kind: "unknown", rejected: 1 });
    expect(kept[0]?.key).toMatch(/^webhooks\/rejected\/unknown\//);
  });
});
