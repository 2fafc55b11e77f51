import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { moBulk } from "../../dev/wavy-sandbox.js";
import { WEBHOOK_MAX_BODY_BYTES } from "../../lambdas/lib/contract.js";
import type { WindowStore } from "../../lambdas/lib/windows/window-store.js";
import { startLiveWindows } from "../support/live-windows.js";
import { captureLogs } from "../support/log-capture.js";

type World = Awaited<ReturnType<typeof startLiveWindows>>;
type WindowAnswer = {
  destination: string;
  windows: {
    origin: string;
    open: boolean;
    lastInboundAt: string;
    closesAt: string;
    minutesLeft: number;
    seenBy: string;
  }[];
};

const BUSINESS = "5511999990000";
const HOUR = 3_600_000;
let sequence = 0;
/** A fresh user number per test, so tests sharing the table never see each other's windows. */
const newUser = () => `55119${String(Date.now() % 1e7).padStart(7, "0")}${sequence++ % 10}`;

async function windowsOf(world: World, destination: string, query = ""): Promise<WindowAnswer> {
  const answer = await fetch(`${world.url}/windows/${destination}${query}`);
  expect(answer.status).toBe(200);
  return (await answer.json()) as WindowAnswer;
}

async function rejectedObjects(
  world: World,
): Promise<{ key: string; body: Record<string, unknown> }[]> {
  const listed = await world.s3.send(
    new ListObjectsV2Command({ Bucket: world.bucket, Prefix: "webhooks/rejected/" }),
  );
  return Promise.all(
    (listed.Contents ?? []).map(async ({ Key }) => {
      const object = await world.s3.send(new GetObjectCommand({ Bucket: world.bucket, Key }));
      return { key: Key ?? "", body: JSON.parse((await object.Body?.transformToString()) ?? "{}") };
    }),
  );
}

describe("live windows over loopback (webhook → queue → processor → dynalite → lookup)", () => {
  let world: World;
  beforeAll(async () => {
    world = await startLiveWindows();
  });
  afterAll(async () => world.stop());
  afterEach(() => {
    world.failTable(false);
    world.refuseEvents(false);
  });

  it("answers the webhook 200 {accepted: true} and opens the window 24 h from receivedAt", async () => {
    const user = newUser();
    const at = Date.now() - HOUR;

    const answer = await world.postMo(moBulk([{ id: "a1", source: user, receivedAt: at }]));
    await world.queue.drained();

    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ accepted: true });
    expect(await windowsOf(world, user)).toEqual({
      destination: user,
      windows: [
        {
          origin: BUSINESS,
          open: true,
          lastInboundAt: new Date(at).toISOString(),
          closesAt: new Date(at + 24 * HOUR).toISOString(),
          minutesLeft: 23 * 60,
          seenBy: "webhook",
        },
      ],
    });
  });

  it("changes nothing on a duplicate delivery of the same MO", async () => {
    const user = newUser();
    const body = moBulk([{ id: "dup", source: user, receivedAt: Date.now() - 2 * HOUR }]);
    await world.postMo(body);
    await world.queue.drained();
    const before = await windowsOf(world, user);

    await world.postMo(body);
    await world.queue.drained();

    expect(await windowsOf(world, user)).toEqual(before);
  });

  it("keeps the latest window when an older MO arrives after a newer one", async () => {
    const user = newUser();
    const newer = Date.now() - HOUR;
    await world.postMo(moBulk([{ id: "new", source: user, receivedAt: newer }]));
    await world.queue.drained();

    await world.postMo(moBulk([{ id: "old", source: user, receivedAt: newer - 5 * HOUR }]));
    await world.queue.drained();

    expect((await windowsOf(world, user)).windows[0]?.lastInboundAt).toBe(
      new Date(newer).toISOString(),
    );
  });

  it("applies the good items of a bulk with a bad one, keeps the bad one with its reason, counts it", async () => {
    const [good, alsoGood] = [newUser(), newUser()];
    const now = Date.now();
    const body = JSON.stringify({
      total: 3,
      data: [
        { id: "g1", source: good, origin: BUSINESS, receivedAt: now },
        { id: "b1", source: "5511900000099", receivedAt: now },
        { id: "g2", source: alsoGood, origin: BUSINESS, receivedAt: now },
      ],
    });

    await world.postMo(body);
    await world.queue.drained();

    expect((await windowsOf(world, good)).windows).toHaveLength(1);
    expect((await windowsOf(world, alsoGood)).windows).toHaveLength(1);
    const stored = (await rejectedObjects(world)).filter((object) =>
      JSON.stringify(object.body).includes('"id":"b1"'),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.key).toMatch(/^webhooks\/rejected\/mo\/\d{4}-\d{2}-\d{2}\/[^/]+\.json$/);
    expect(stored[0]?.body).toMatchObject({
      kind: "mo",
      items: [{ index: 1, item: { id: "b1" } }],
    });
    expect(JSON.stringify(stored[0]?.body)).toMatch(/origin/);
    expect(world.metrics).toContainEqual({
      name: "WebhookItemsRejected",
      value: 1,
      dimensions: { Kind: "mo" },
    });
    expect(world.metrics).toContainEqual({
      name: "WebhookItemsApplied",
      value: 2,
      dimensions: { Kind: "mo" },
    });
  });

  it("accepts an MO with receivedAt, total and campaignId as strings", async () => {
    const user = newUser();
    const at = Date.now() - 30 * 60_000;
    const body = JSON.stringify({
      total: "1",
      data: [
        { id: "str", source: user, origin: BUSINESS, campaignId: "100", receivedAt: String(at) },
      ],
    });

    await world.postMo(body);
    await world.queue.drained();

    expect((await windowsOf(world, user)).windows[0]?.lastInboundAt).toBe(
      new Date(at).toISOString(),
    );
  });

  it("answers 403 to a wrong token and stores nothing", async () => {
    const user = newUser();
    const depth = world.queue.depth;

    const answer = await world.postMo(
      moBulk([{ id: "x", source: user, receivedAt: Date.now() }]),
      "mo",
      `${world.token}x`,
    );
    await world.queue.drained();

    expect(answer.status).toBe(403);
    expect(world.queue.depth).toBe(depth);
    expect((await windowsOf(world, user)).windows).toEqual([]);
  });

  it("answers 413 to a body over the limit and stores nothing", async () => {
    const user = newUser();
    const padding = "x".repeat(WEBHOOK_MAX_BODY_BYTES);
    const body = moBulk([{ id: padding, source: user, receivedAt: Date.now() }]);

    const answer = await world.postMo(body);
    await world.queue.drained();

    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(
      "PAYLOAD_TOO_LARGE",
    );
    expect((await windowsOf(world, user)).windows).toEqual([]);
  });

  it("accepts a body of exactly the limit", async () => {
    const body = JSON.stringify({ total: 0, data: [], pad: "" });
    const exact = body.replace(
      '"pad":""',
      `"pad":"${"x".repeat(WEBHOOK_MAX_BODY_BYTES - body.length)}"`,
    );
    expect(Buffer.byteLength(exact)).toBe(WEBHOOK_MAX_BODY_BYTES);

    expect((await world.postMo(exact)).status).toBe(200);
    await world.queue.drained();
  });

  it("reports a message whose table write fails, and applies it when it is delivered again", async () => {
    const user = newUser();
    world.failTable(true);

    await world.postMo(moBulk([{ id: "retry", source: user, receivedAt: Date.now() }]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(world.queue.depth).toBe(1);
    world.failTable(false);
    await world.queue.drained();

    expect((await windowsOf(world, user)).windows).toHaveLength(1);
    expect(world.queue.deadLetters).toEqual([]);
  });

  it("explains a 210 for a window closed 5 minutes before the send, counts it, opens no window", async () => {
    const user = newUser();
    const lastInbound = Date.now() - 24 * HOUR - 10 * 60_000;
    await world.postMo(moBulk([{ id: "m-old", source: user, receivedAt: lastInbound }]));
    await world.queue.drained();
    const sentAt = new Date(lastInbound + 24 * HOUR + 5 * 60_000).toISOString();
    const before = world.metrics.length;
    const body = JSON.stringify({
      total: 2,
      data: [
        {
          id: "s1",
          destination: user,
          origin: BUSINESS,
          sentStatusCode: 210,
          sentStatus: "INVALID_SESSION",
          sentAt,
        },
        {
          id: "s2",
          destination: user,
          origin: BUSINESS,
          sentStatusCode: "3",
          sentStatus: "DELIVERED_SUCCESS",
        },
        { id: "s3" },
      ],
      clientInfo: { customerId: 42 },
    });

    expect((await world.postMo(body, "status")).status).toBe(200);
    await world.queue.drained();

    const event = world.events.find((put) => put.detail.messageId === "s1");
    expect(event).toMatchObject({
      detailType: "Send Rejected Outside Window",
      detail: {
        destination: user,
        origin: BUSINESS,
        code: 210,
        customerId: "42",
        window: { state: "closed", closedMinutesBeforeSend: 5, seenBy: "webhook" },
      },
    });
    const emitted = world.metrics.slice(before);
    expect(emitted).toContainEqual({
      name: "SendsRejectedOutsideWindow",
      value: 1,
      dimensions: { Origin: BUSINESS },
    });
    expect(emitted).toContainEqual({
      name: "DeliveryOutcomes",
      value: 1,
      dimensions: { Origin: BUSINESS, Status: "DELIVERED_SUCCESS" },
    });
    expect(emitted).toContainEqual({
      name: "WebhookItemsRejected",
      value: 1,
      dimensions: { Kind: "status" },
    });
    expect(emitted.map((metric) => metric.name)).not.toContain("WebhookStatusesReceived");
    const kept = (await rejectedObjects(world)).filter((object) =>
      object.key.startsWith("webhooks/rejected/status/"),
    );
    expect(kept.map((object) => object.body.items)).toContainEqual([
      { index: 2, reason: expect.any(String), item: { id: "s3" } },
    ]);
    const windows = (await windowsOf(world, user)).windows;
    expect(windows.map((window) => window.lastInboundAt)).toEqual([
      new Date(lastInbound).toISOString(),
    ]);
  });

  it("delivers a status message again while the bus refuses its events, and counts it once", async () => {
    const user = newUser();
    const before = world.metrics.length;
    world.refuseEvents(true);
    const body = JSON.stringify({
      data: [
        {
          id: "r1",
          destination: user,
          origin: BUSINESS,
          sentStatusCode: 104,
          sentStatus: "NOT_DELIVERED",
        },
      ],
    });

    await world.postMo(body, "status");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(world.queue.depth).toBe(1);
    expect(world.metrics.slice(before)).toEqual([]);
    world.refuseEvents(false);
    await world.queue.drained();

    expect(world.events.filter((put) => put.detail.messageId === "r1")).toHaveLength(1);
    expect(
      world.metrics.slice(before).filter((metric) => metric.name === "SendsRejectedOutsideWindow"),
    ).toEqual([{ name: "SendsRejectedOutsideWindow", value: 1, dimensions: { Origin: BUSINESS } }]);
  });

  it("masks phone numbers in every log line", async () => {
    const user = newUser();
    const logs = captureLogs();
    try {
      await world.postMo(
        JSON.stringify({
          data: [{ id: "m", source: user, origin: BUSINESS, receivedAt: "later" }],
        }),
      );
      await world.queue.drained();
    } finally {
      logs.restore();
    }

    expect(logs.text()).toContain(`*********${user.slice(-4)}`);
    expect(logs.text()).not.toContain(user);
  });

  describe("GET /windows/{destination}", () => {
    it("answers 200 with [] for a destination never seen", async () => {
      expect(await windowsOf(world, "5599000000000")).toEqual({
        destination: "5599000000000",
        windows: [],
      });
    });

    it("narrows to one origin with ?origin=", async () => {
      const user = newUser();
      await world.postMo(
        moBulk([
          { id: "o1", source: user, receivedAt: Date.now() },
          { id: "o2", source: user, origin: "5511888880000", receivedAt: Date.now() },
        ]),
      );
      await world.queue.drained();

      expect((await windowsOf(world, user)).windows).toHaveLength(2);
      expect(
        (await windowsOf(world, user, "?origin=5511888880000")).windows.map((w) => w.origin),
      ).toEqual(["5511888880000"]);
    });

    it("refuses an unknown parameter with 400 naming it", async () => {
      const answer = await fetch(`${world.url}/windows/5511900000000?orign=1`);

      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({
        error: { code: "INVALID_REQUEST", message: expect.stringContaining('"orign"') },
      });
    });
  });

  describe("GET /windows?origin&closingWithinMinutes", () => {
    it("pages the open windows closing soonest first with a cursor, leaving out later and closed ones", async () => {
      const origin = `5511777${String(Date.now() % 1e6).padStart(6, "0")}`;
      const now = Date.now();
      const users = Array.from({ length: 5 }, () => newUser());
      // Closing in 10, 20, 30, 40 min, and one in 5 h (outside the hour); one closed 1 h ago.
      await world.postMo(
        moBulk([
          ...users.slice(0, 4).map((source, i) => ({
            id: `p${i}`,
            source,
            origin,
            receivedAt: now - 24 * HOUR + (i + 1) * 10 * 60_000,
          })),
          { id: "late", source: users[4] ?? "", origin, receivedAt: now - 19 * HOUR },
          { id: "gone", source: newUser(), origin, receivedAt: now - 25 * HOUR },
        ]),
      );
      await world.queue.drained();

      const pages: string[][] = [];
      let cursor = "";
      do {
        const answer = await fetch(
          `${world.url}/windows?origin=${origin}&closingWithinMinutes=60&limit=3${cursor && `&cursor=${cursor}`}`,
        );
        expect(answer.status).toBe(200);
        const page = (await answer.json()) as {
          windows: { destination: string }[];
          nextCursor: string | null;
        };
        pages.push(page.windows.map((w) => w.destination));
        cursor = page.nextCursor ?? "";
      } while (cursor);

      expect(pages.flat()).toEqual(users.slice(0, 4));
      expect(pages[0]).toHaveLength(3);
    });

    it.each([
      ["an unknown parameter", "origin=5511999990000&closingWithinMinutes=60&sort=asc", /"sort"/],
      ["no origin", "closingWithinMinutes=60", /origin: is required/],
      [
        "closingWithinMinutes 0",
        "origin=5511999990000&closingWithinMinutes=0",
        /closingWithinMinutes/,
      ],
      [
        "closingWithinMinutes 1441",
        "origin=5511999990000&closingWithinMinutes=1441",
        /closingWithinMinutes/,
      ],
      ["limit 501", "origin=5511999990000&closingWithinMinutes=60&limit=501", /limit/],
      ["a forged cursor", "origin=5511999990000&closingWithinMinutes=60&cursor=abc", /cursor/],
      ["a repeated origin", "origin=1&origin=2&closingWithinMinutes=60", /more than once/],
    ])("answers 400 to %s", async (_name, query, message) => {
      const answer = await fetch(`${world.url}/windows?${query}`);

      expect(answer.status).toBe(400);
      const body = (await answer.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("INVALID_REQUEST");
      expect(body.error.message).toMatch(message);
    });
  });
});

describe("a window that closes while the lookup runs", () => {
  let world: World;
  beforeAll(async () => {
    // The table answers 400 ms late, as a slow DynamoDB would.
    const slow = (store: WindowStore): WindowStore =>
      Object.assign(Object.create(store) as WindowStore, {
        windowsOf: async (destination: string) => {
          const found = await store.windowsOf(destination);
          await new Promise((resolve) => setTimeout(resolve, 400));
          return found;
        },
      });
    world = await startLiveWindows({ lookupStore: slow });
  });
  afterAll(async () => world.stop());

  it("is answered open: false with minutesLeft 0, never open with 0 minutes", async () => {
    const user = newUser();
    // Closes 200 ms after the request goes out.
    const body = moBulk([{ id: "edge", source: user, receivedAt: 0 }]);
    const sentAt = Date.now();
    await world.postMo(
      body.replace('"receivedAt":0', `"receivedAt":${sentAt + 1_000 - 24 * HOUR}`),
    );
    await world.queue.drained();
    const wait = sentAt + 800 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    const answer = await windowsOf(world, user);

    expect(answer.windows).toEqual([expect.objectContaining({ open: false, minutesLeft: 0 })]);
  });
});
