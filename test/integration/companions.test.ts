import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 19 item 3 over loopback: the export answers before its companion exists, the companion
 * function builds it from the Export Succeeded event, and the export document says so.
 */
const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

describe("the export document's companion", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("is pending in the export's answer, and ready once the companion function built it", async () => {
    const created = await h.call("POST", "/exports", { customerId: "42" });
    expect(created.status).toBe(201);
    const key = String(created.json.sessionsKey);
    expect(created.json.companion).toEqual({ status: "pending", key });

    await h.companions(1);
    expect(await h.objectKeys("sessions/")).toEqual([key]);
    const read = await h.call("GET", `/exports/${created.json.exportId}`);
    expect(read.json.companion).toEqual({ status: "ready", key });
    const history = await h.call("GET", "/exports?customerId=42");
    expect((history.json.exports as Record<string, unknown>[])[0]?.companion).toEqual({
      status: "ready",
      key,
    });
  });

  it("reads pending while the companion is missing (its build failed and is being retried)", async () => {
    h.s3.injectFault((req) =>
      req.method === "PUT" && (req.url ?? "").includes("/sessions/") ? 503 : undefined,
    );
    const created = await h.call("POST", "/exports", { customerId: "42" });
    expect(created.status).toBe(201);
    await expect(h.companions()).rejects.toThrow();
    h.s3.clearFaults();
    const read = await h.call("GET", `/exports/${created.json.exportId}`);
    expect(read.json.companion).toMatchObject({ status: "pending" });
    await h.emptyBucket();
  });

  it("is never built for a failed export", async () => {
    h.wavy.csvByTarget.set("43", 'source;session_created_at\n"open quote\n');
    const failed = await h.call("POST", "/exports", { customerId: "43" });
    expect(failed.status).toBe(502);
    await h.companions();
    expect(await h.objectKeys("sessions/")).toEqual([]);
  });
});
