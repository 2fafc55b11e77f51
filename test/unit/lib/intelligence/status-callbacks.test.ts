import { describe, expect, it } from "vitest";
import { aggregate } from "../../../../lambdas/lib/intelligence/metric-points.js";
import type { MetricPoint } from "../../../../lambdas/lib/intelligence/ports.js";
import {
  applyStatusCallbacks,
  processStatusMessage,
  readInstant,
} from "../../../../lambdas/lib/intelligence/status-callbacks.js";
import { MemoryWindowStore } from "../../../../lambdas/lib/windows/memory-window-store.js";

const NOW = "2026-12-06T12:00:00.000Z";
const USER = "5511988887777";
const BUSINESS = "5511999990000";
const TARGETS = [{ customerId: "42", subAccountId: "7", origins: [BUSINESS] }];

const ms = (iso: string) => Date.parse(iso);
const minutes = (n: number) => n * 60_000;

function statusItem(fields: Record<string, unknown>) {
  return {
    id: "m-1",
    correlationId: "c-1",
    destination: USER,
    origin: BUSINESS,
    sentAt: ms(NOW) - minutes(2),
    sentStatusCode: 2,
    sentStatus: "SENT_SUCCESS",
    ...fields,
  };
}

function bulk(...items: unknown[]) {
  return JSON.stringify({
    total: String(items.length),
    data: items,
    clientInfo: { customerId: 42, subAccountId: "7", userId: 1 },
  });
}

const metricValue = (metrics: MetricPoint[], name: string, dims: Record<string, string>) =>
  aggregate(metrics).find(
    (point) => point.name === name && JSON.stringify(point.dimensions) === JSON.stringify(dims),
  )?.value;

function prepare() {
  const store = new MemoryWindowStore();
  return { store, deps: { store, clock: () => new Date(NOW), targets: TARGETS } };
}

describe("applyStatusCallbacks", () => {
  it("explains a 210 for a window that closed 5 minutes before the send", async () => {
    const { store, deps } = prepare();
    const sentAt = ms(NOW) - minutes(1);
    const closesAt = new Date(sentAt - minutes(5)).toISOString();
    store.recordInbound({
      destination: USER,
      origin: BUSINESS,
      lastInboundAt: new Date(Date.parse(closesAt) - 86_400_000).toISOString(),
    });

    const outcome = await applyStatusCallbacks(
      bulk(statusItem({ sentAt, sentStatusCode: "210", sentStatus: "INVALID_SESSION" })),
      deps,
    );

    expect(outcome.rejected).toEqual([]);
    expect(outcome.events).toHaveLength(1);
    expect(outcome.events[0]).toEqual({
      detailType: "Send Rejected Outside Window",
      detail: {
        destination: USER,
        origin: BUSINESS,
        code: 210,
        status: "INVALID_SESSION",
        messageId: "m-1",
        correlationId: "c-1",
        sentAt: new Date(sentAt).toISOString(),
        customerId: "42",
        subAccountId: "7",
        window: {
          state: "closed",
          lastInboundAt: new Date(Date.parse(closesAt) - 86_400_000).toISOString(),
          closesAt,
          seenBy: "webhook",
          closedMinutesBeforeSend: 5,
        },
      },
    });
    expect(metricValue(outcome.metrics, "SendsRejectedOutsideWindow", { Origin: BUSINESS })).toBe(
      1,
    );
    expect(
      metricValue(outcome.metrics, "SendsRejectedOutsideWindow", {
        CustomerId: "42",
        SubAccountId: "7",
      }),
    ).toBe(1);
  });

  it("says never-seen for a 104 to a destination the table does not hold", async () => {
    const { deps } = prepare();
    const outcome = await applyStatusCallbacks(
      bulk(statusItem({ deliveredStatusCode: 104, deliveredStatus: "NOT_DELIVERED" })),
      deps,
    );
    expect(outcome.events).toHaveLength(1);
    expect(outcome.events[0]?.detail).toMatchObject({
      code: 104,
      status: "NOT_DELIVERED",
      window: { state: "never-seen", closesAt: null, lastInboundAt: null },
    });
  });

  it("tells open and reopened windows apart from closed ones", async () => {
    const { store, deps } = prepare();
    const other = "5511900001111";
    store.recordInbound({
      destination: USER,
      origin: BUSINESS,
      lastInboundAt: "2026-12-06T08:00:00.000Z",
    });
    store.recordInbound({
      destination: other,
      origin: BUSINESS,
      lastInboundAt: "2026-12-06T11:59:00.000Z",
    });
    const outcome = await applyStatusCallbacks(
      bulk(
        statusItem({ sentStatusCode: 210 }),
        statusItem({ destination: other, sentStatusCode: 210, sentAt: "2026-12-06T11:00:00Z" }),
      ),
      deps,
    );
    expect(outcome.events.map((event) => (event.detail.window as { state: string }).state)).toEqual(
      ["open", "reopened"],
    );
  });

  it("keeps going past bad items and counts every good one by status", async () => {
    const { deps } = prepare();
    const outcome = await applyStatusCallbacks(
      bulk(
        statusItem({ readStatus: "READ_SUCCESS", readStatusCode: 5 }),
        { destination: "", origin: BUSINESS },
        "not an item",
        statusItem({ deliveredStatus: "DELIVERED_SUCCESS" }),
        statusItem({ sentStatusCode: 210, sentStatus: "invalid session!" }),
      ),
      deps,
    );
    expect(outcome.items).toBe(5);
    expect(outcome.applied).toBe(3);
    expect(outcome.rejected.map((item) => item.index)).toEqual([1, 2]);
    expect(outcome.rejected.map((item) => item.reason).join(" ")).not.toContain(USER);
    const byStatus = (status: string) =>
      metricValue(outcome.metrics, "DeliveryOutcomes", { Origin: BUSINESS, Status: status });
    expect(byStatus("READ_SUCCESS")).toBe(1);
    expect(byStatus("DELIVERED_SUCCESS")).toBe(1);
    // A status that is not a bounded token is never a dimension value.
    expect(byStatus("UNKNOWN")).toBe(1);
  });

  it("reads numbers sent as digits and digits sent as numbers", async () => {
    const { deps } = prepare();
    const outcome = await applyStatusCallbacks(
      bulk(
        statusItem({
          destination: Number(USER),
          origin: Number(BUSINESS),
          sentStatusCode: "210",
          sentAt: String(ms(NOW) - minutes(3)),
        }),
      ),
      deps,
    );
    expect(outcome.rejected).toEqual([]);
    expect(outcome.events[0]?.detail).toMatchObject({
      destination: USER,
      origin: BUSINESS,
      code: 210,
      sentAt: new Date(ms(NOW) - minutes(3)).toISOString(),
    });
  });

  it("rejects a body that is not JSON, or has no data, as one item", async () => {
    const { deps } = prepare();
    for (const body of ["{", '{"total": 1}', "null"]) {
      const outcome = await applyStatusCallbacks(body, deps);
      expect(outcome.rejected).toHaveLength(1);
      expect(outcome.rejected[0]?.index).toBe(-1);
      expect(outcome.events).toEqual([]);
    }
  });

  it("labels an origin outside the configured list `unlisted` and counts no target", async () => {
    const { deps } = prepare();
    const outcome = await applyStatusCallbacks(
      bulk(statusItem({ origin: "5511000000000", sentStatusCode: 210 })),
      deps,
    );
    const names = aggregate(outcome.metrics).map((point) => point.dimensions);
    expect(names).toContainEqual({ Origin: "unlisted" });
    expect(names.some((dims) => "CustomerId" in dims)).toBe(false);
    // The event still names the real origin: the CRM needs it.
    expect(outcome.events[0]?.detail.origin).toBe("5511000000000");
  });

  it("never puts a destination into a metric dimension", async () => {
    const { deps } = prepare();
    const outcome = await applyStatusCallbacks(bulk(statusItem({ sentStatusCode: 104 })), deps);
    expect(JSON.stringify(outcome.metrics)).not.toContain(USER);
  });
});

describe("readInstant", () => {
  it("reads epoch ms as a number or digits, and ISO text with an offset only", () => {
    expect(readInstant(1513616971473)).toBe(1513616971473);
    expect(readInstant("1513616971473")).toBe(1513616971473);
    expect(readInstant("2017-12-18T17:09:31.473Z")).toBe(1513616971473);
    expect(readInstant("2017-12-18T15:09:31.473-02:00")).toBe(1513616971473);
    expect(readInstant("2017-12-18 17:09:31")).toBeNaN();
    expect(readInstant(undefined)).toBeNaN();
  });
});

describe("processStatusMessage (the processor's call for kind=status)", () => {
  it("puts the events and says how many the bus refused, for the batch item failure", async () => {
    const { deps } = prepare();
    const put: unknown[] = [];
    const body = bulk(statusItem({ sentStatusCode: 210 }), statusItem({ sentStatusCode: 104 }));
    const ok = await processStatusMessage(body, {
      ...deps,
      bus: {
        put: async (events) => {
          put.push(...events);
          return events.map(() => true);
        },
      },
    });
    expect(put).toHaveLength(2);
    expect(ok.eventsRefused).toBe(0);
    const refused = await processStatusMessage(body, {
      ...deps,
      bus: { put: async (events) => events.map((_, at) => at === 0) },
    });
    expect(refused.eventsRefused).toBe(1);
  });

  it("calls no bus for a bulk without rejected sends", async () => {
    const { deps } = prepare();
    const result = await processStatusMessage(bulk(statusItem({})), {
      ...deps,
      bus: {
        put: async () => {
          throw new Error("not expected");
        },
      },
    });
    expect(result.eventsRefused).toBe(0);
    expect(result.applied).toBe(1);
  });
});
