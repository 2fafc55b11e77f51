import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUCKET, type Harness, startHarness } from "../support/export-harness.js";
import { captureLogs } from "../support/log-capture.js";

/**
 * Issue 11, item 5: GET /exports/{id} presigns only its own export's CSV in the configured
 * bucket. A manifest rewritten to name anything else is a 500 for the caller and a log line for
 * the operator, never a working URL.
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const OTHER_BUCKET = "someone-elses-bucket";

describe("a rewritten manifest", () => {
  let h: Harness;
  let genuine: Record<string, unknown>;

  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV, "43": CSV } } });
    await h.s3Client.send(new CreateBucketCommand({ Bucket: OTHER_BUCKET }));
    // Every object a forged manifest names exists, so only the trust rule can refuse it.
    await h.s3Client.send(
      new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: "secret.csv", Body: "private" }),
    );
    await h.s3Client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "idempotency/abc.json", Body: "{}" }),
    );
    genuine = (await h.call("POST", "/exports", { customerId: "42" })).json;
    const other = (await h.call("POST", "/exports", { customerId: "43" })).json;
    genuine.otherKey = other.key;
  });
  afterAll(() => h.close());

  const forge = async (changes: Record<string, unknown>) => {
    const { downloadUrl: _u, downloadUrlExpiresAt: _e, otherKey: _o, ...manifest } = genuine;
    await h.s3Client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `manifests/${String(genuine.exportId)}.json`,
        Body: JSON.stringify({ ...manifest, ...changes }),
      }),
    );
  };

  it("still serves the genuine manifest (control)", async () => {
    await forge({});
    const { status, json } = await h.call("GET", `/exports/${String(genuine.exportId)}`);
    expect(status).toBe(200);
    expect(decodeURIComponent(new URL(String(json.downloadUrl)).pathname)).toBe(
      `/${BUCKET}/${String(genuine.key)}`,
    );
  });

  it.each([
    ["an idempotency record", () => ({ key: "idempotency/abc.json" })],
    ["another bucket", () => ({ bucket: OTHER_BUCKET, key: "secret.csv" })],
    ["another bucket under the same key", () => ({ bucket: OTHER_BUCKET })],
    ["another export's CSV", () => ({ key: genuine.otherKey })],
    ["its own CSV under another customer", () => ({ customerId: "43" })],
    ["its own CSV with another date", () => ({ createdAt: "2020-01-01T00:00:00.000Z" })],
    [
      "another export's companion",
      () => ({
        sessionsKey: String(genuine.otherKey)
          .replace(/^exports\//, "sessions/")
          .replace(/\.csv$/, ".parquet"),
      }),
    ],
  ])("naming %s is a 500 with a log line, and no URL", async (_name, changes) => {
    await forge(changes());
    const logs = captureLogs();

    const { status, json } = await h.call("GET", `/exports/${String(genuine.exportId)}`);
    logs.restore();

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    expect(logs.text()).toContain("names an object other than its own export's CSV");
    expect(logs.text()).toContain(String(genuine.exportId));
  });
});
