import { createHash } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  historyEntryKey,
  manifestKey,
  type SucceededManifest,
  sessionsKey,
} from "../../lambdas/lib/exports/export-document.js";
import { idempotencyRecordKey } from "../../lambdas/lib/exports/idempotency.js";
import { BUCKET, type Harness, sha256, startHarness } from "../support/export-harness.js";
import { captureLogs } from "../support/log-capture.js";

/**
 * Issue 19, item 4: the code runs under a second key layout (test/support/layout-2.ts: the date
 * folder split into year=/month=/day=) over a bucket holding an export stored before layouts had
 * versions. Every route that reads that export's manifest answers it, trusted by its own layout;
 * new exports are written under layout 2 and say so.
 */
vi.mock("../../lambdas/lib/layout.js", async (importOriginal) => {
  const { underLayout2 } = await import("../support/layout-2.js");
  return underLayout2(await importOriginal());
});

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const OLD_KEY = "retry-over-a-layout-1-export";

describe("a layout-1 manifest read under layout 2", () => {
  let h: Harness;
  let old: SucceededManifest;

  const put = (Key: string, Body: string) =>
    h.s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));

  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
    // Within the Idempotency-Key's 24 h, so the retry below replays it.
    const createdAt = new Date(Date.now() - 3_600_000);
    const exportId = `${createdAt
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "")}-00000000000000aa`;
    const date = createdAt.toISOString().slice(0, 10);
    const target = { customerId: "42", subAccountId: null };
    // Written as layout 1 wrote it: no layoutVersion, keys with a date= folder.
    old = {
      exportId,
      trigger: "request",
      customerId: "42",
      subAccountId: null,
      bucket: BUCKET,
      key: `exports/customerId=42/subAccountId=all/date=${date}/${exportId}.csv`,
      createdAt: createdAt.toISOString(),
      status: "succeeded",
      rows: 1,
      bytes: Buffer.byteLength(CSV),
      sha256: sha256(CSV),
      sessionsKey: `sessions/customerId=42/subAccountId=all/date=${date}/${exportId}.parquet`,
      completedAt: createdAt.toISOString(),
    };
    // The code under test would now name another companion key for it.
    expect(sessionsKey(target, exportId, createdAt)).not.toBe(old.sessionsKey);
    await put(old.key, CSV);
    await put(manifestKey(exportId), JSON.stringify(old));
    await put(historyEntryKey(old), "");
    const fingerprint = createHash("sha256")
      .update(JSON.stringify([target.customerId, target.subAccountId]))
      .digest("hex");
    await put(
      idempotencyRecordKey(OLD_KEY),
      JSON.stringify({ exportId, fingerprint, claimedAt: createdAt.toISOString() }),
    );
  });
  afterAll(() => h.close());

  it("writes a new export under layout 2 and records it (control: the mock is in force)", async () => {
    const created = await h.call("POST", "/exports", { customerId: "42" });
    expect(created.status).toBe(201);
    expect(created.json.key).toMatch(
      /^exports\/customerId=42\/subAccountId=all\/year=\d{4}\/month=\d{2}\/day=\d{2}\/[^/]+\.csv$/,
    );
    expect(created.json.layoutVersion).toBe(2);
    const read = await h.call("GET", `/exports/${String(created.json.exportId)}`);
    expect(read.status).toBe(200);
  });

  it("GET /exports/{exportId} answers it with a URL of its own CSV", async () => {
    const { status, json } = await h.call("GET", `/exports/${old.exportId}`);
    expect(status).toBe(200);
    expect(json).toMatchObject({ exportId: old.exportId, key: old.key, status: "succeeded" });
    expect(decodeURIComponent(new URL(String(json.downloadUrl)).pathname)).toBe(
      `/${BUCKET}/${old.key}`,
    );
  });

  it("the run history lists it beside the exports of layout 2", async () => {
    const { status, json } = await h.call("GET", "/exports?customerId=42");
    expect(status).toBe(200);
    const listed = (json.exports as { exportId: string; key: string }[]).map((e) => e.exportId);
    expect(listed).toContain(old.exportId);
    expect(listed.length).toBeGreaterThanOrEqual(2);
  });

  it("an Idempotency-Key retry over it replays it", async () => {
    const { status, json } = await h.call(
      "POST",
      "/exports",
      { customerId: "42" },
      { "Idempotency-Key": OLD_KEY },
    );
    expect(status).toBe(201);
    expect(json).toMatchObject({ exportId: old.exportId, key: old.key });
  });

  it("still refuses a manifest naming a layout this code does not know", async () => {
    await put(manifestKey(old.exportId), JSON.stringify({ ...old, layoutVersion: 3 }));
    const logs = captureLogs();
    const { status } = await h.call("GET", `/exports/${old.exportId}`);
    logs.restore();
    expect(status).toBe(500);
    expect(logs.text()).toContain("names an object other than its own export's CSV");
  });

  it("still refuses a layout-1 manifest claiming layout 2", async () => {
    await put(manifestKey(old.exportId), JSON.stringify({ ...old, layoutVersion: 2 }));
    const logs = captureLogs();
    const { status } = await h.call("GET", `/exports/${old.exportId}`);
    logs.restore();
    expect(status).toBe(500);
  });
});
