import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EVENT_BUS, type Harness, sha256, startHarness } from "../support/export-harness.js";

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

describe("completion events of synchronous exports", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.eventBridge.events.length = 0;
    h.eventBridge.refuseEntries(0);
    await h.emptyBucket();
  });

  it("puts Export Succeeded with the stored document, without the download URL", async () => {
    const { json } = await h.call("POST", "/exports", { customerId: "42" });

    const [event] = await h.eventBridge.waitFor(1);

    const {
      downloadUrl: _url,
      downloadUrlExpiresAt: _expires,
      companion: _companion,
      ...detail
    } = json;
    expect(event).toMatchObject({
      version: "0",
      source: "wavy-sessions",
      "detail-type": "Export Succeeded",
      eventBusName: EVENT_BUS,
      detail,
    });
    expect(event?.detail).toMatchObject({ status: "succeeded", sha256: sha256(CSV), rows: 1 });
    expect(Object.keys(event?.detail as object).sort()).toEqual(
      [
        "bucket",
        "bytes",
        "completedAt",
        "createdAt",
        "customerId",
        "exportId",
        "key",
        "layoutVersion",
        "rows",
        "sessionsKey",
        "sha256",
        "status",
        "subAccountId",
        "trigger",
      ].sort(),
    );
  });

  it("puts Export Failed with the error when a synchronous export fails, and stores nothing", async () => {
    h.wavy.replySession({ status: 403, body: "{}" });

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    const [event] = await h.eventBridge.waitFor(1);
    expect(event).toMatchObject({
      "detail-type": "Export Failed",
      detail: {
        status: "failed",
        customerId: "42",
        subAccountId: null,
        error: { code: "UPSTREAM_ERROR", message: (json.error as { message: string }).message },
      },
    });
    const exportId = (event?.detail as { exportId?: string } | undefined)?.exportId;
    expect((await h.call("GET", `/exports/${exportId}`)).status).toBe(404);
    expect(await h.objectKeys()).toEqual([]);
  });

  it("answers 201 as usual when EventBridge refuses the event, and logs it", async () => {
    h.eventBridge.refuseEntries(1);

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(h.eventBridge.events).toHaveLength(0);
    const logged = (console.error as unknown as { mock: { calls: unknown[][] } }).mock.calls.flat();
    expect(logged.join("\n")).toContain("Could not put the completion event");
  });

  it("puts nothing for a request refused with 400, nor for an idempotent replay", async () => {
    await h.call("POST", "/exports", { customerId: "0" });
    await h.call("POST", "/exports", { customerId: "42" }, { "Idempotency-Key": "events-1" });
    await h.call("POST", "/exports", { customerId: "42" }, { "Idempotency-Key": "events-1" });

    await h.eventBridge.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.eventBridge.events).toHaveLength(1);
  });
});
