import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SucceededManifest } from "../../lambdas/lib/exports/export-document.js";
import { historyEntryKey, manifestKey } from "../../lambdas/lib/exports/export-document.js";
import { BUCKET, type Harness, startHarness } from "../support/export-harness.js";

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

type Page = { exports: Record<string, unknown>[]; nextCursor: string | null };

describe("run history: GET /exports", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV, "42/7": CSV } } });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    await h.lambda.idle();
    await h.emptyBucket();
  });

  const list = async (query: string) => {
    const answer = await h.call("GET", `/exports?${query}`);
    return { ...answer, page: answer.json as unknown as Page };
  };

  it("lists one target's exports newest first, running and ended alike, and pages with nextCursor", async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      made.push(String((await h.call("POST", "/exports", { customerId: "42" })).json.exportId));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    h.wavy.replySession({ status: 403, body: "{}" });
    const failed = await h.call(
      "POST",
      "/exports",
      { customerId: "42" },
      { Prefer: "respond-async" },
    );
    await h.lambda.idle();
    await h.call("POST", "/exports", { customerId: "42", subAccountId: "7" });

    const first = await list("customerId=42&limit=2");
    const second = await list(`customerId=42&limit=2&cursor=${first.page.nextCursor}`);

    expect(first.status).toBe(200);
    expect(first.page.exports.map((e) => e.exportId)).toEqual([failed.json.exportId, made[2]]);
    expect(first.page.exports[0]).toMatchObject({
      status: "failed",
      error: { code: "UPSTREAM_ERROR" },
    });
    expect(first.page.exports[1]).toMatchObject({
      status: "succeeded",
      downloadUrl: expect.any(String),
    });
    expect(first.page.nextCursor).toEqual(expect.any(String));
    expect(second.page.exports.map((e) => e.exportId)).toEqual([made[1], made[0]]);
    expect(second.page.nextCursor).toBeNull();
    const sub = await list("customerId=42&subAccountId=7");
    expect(sub.page.exports).toHaveLength(1);
    expect(sub.page.exports[0]).toMatchObject({ subAccountId: "7" });
  });

  it("refuses a bad query with 400 and the contract's envelope", async () => {
    for (const query of [
      "",
      "customerId=0",
      "customerId=42&limit=0",
      "customerId=42&limit=101",
      "customerId=42&limit=ten",
      "customerId=42&from=yesterday",
      "customerId=42&from=2026-11-28",
      "customerId=42&from=2026-11-28T10:00:00Z&to=2026-11-28T09:00:00Z",
      "customerId=42&cursor=%21%21",
      "customerId=42&cursor=bm90LWFuLWVudHJ5",
      "customerId=42&customerid=43",
      "customerId=42&customerId=43",
    ]) {
      const { status, json } = await h.call("GET", `/exports?${query}`);
      expect(status, query).toBe(400);
      expect(json, query).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    }
  });
});

describe("run history at 100 000 exports", () => {
  const TOTAL = 100_000;
  const NEWEST = Date.parse("2026-11-28T12:00:00.000Z");
  const manifestOf = (i: number): SucceededManifest => {
    const createdAt = new Date(NEWEST - i * 60_000);
    const stamp = createdAt
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
    const exportId = `${stamp}-${i.toString(16).padStart(16, "0")}`;
    return {
      exportId,
      trigger: "schedule",
      customerId: "42",
      subAccountId: null,
      bucket: BUCKET,
      key: `exports/customerId=42/subAccountId=all/date=${createdAt.toISOString().slice(0, 10)}/${exportId}.csv`,
      createdAt: createdAt.toISOString(),
      status: "succeeded",
      rows: 1,
      bytes: CSV.length,
      sha256: "0".repeat(64),
      completedAt: createdAt.toISOString(),
    };
  };
  // Manifests and CSVs only where the pages below read: every listed entry still costs its reads.
  const withManifest = (i: number) => i < 300 || (i >= 90_000 && i < 90_100) || i >= TOTAL - 100;
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    const entries = function* () {
      for (let i = 0; i < TOTAL; i++) {
        const manifest = manifestOf(i);
        yield { key: historyEntryKey(manifest), body: "" };
        if (withManifest(i)) {
          yield { key: manifestKey(manifest.exportId), body: JSON.stringify(manifest) };
          yield { key: manifest.key, body: CSV };
        }
      }
    };
    await h.s3.seedObjects(BUCKET, entries());
  }, 120_000);
  afterAll(() => h.close());

  /** One page, and the S3 requests the local S3 saw while answering it. */
  const page = async (query: string) => {
    h.s3.requests.length = 0;
    const answer = await h.call("GET", `/exports?customerId=42&${query}`);
    const requests = h.s3.requests.map(
      (r) => `${r.method} ${r.query.has("list-type") ? "list" : "object"}`,
    );
    return { status: answer.status, page: answer.json as unknown as Page, requests };
  };

  it("reads one ListObjectsV2 and per export returned one GetObject and one HeadObject (its companion's readiness; a succeeded manifest implies its CSV), on the first page and deep in", async () => {
    const first = await page("limit=100");
    const second = await page(`limit=100&cursor=${first.page.nextCursor}`);
    const deep = await page(`limit=50&to=${manifestOf(90_000).createdAt}`);

    for (const { status, page: answer, requests } of [first, second, deep]) {
      expect(status).toBe(200);
      expect(requests.filter((r) => r === "GET list")).toHaveLength(1);
      // The manifest only: it says succeeded only once its CSV is committed (the lifecycle).
      expect(requests.filter((r) => r === "GET object")).toHaveLength(answer.exports.length);
      // One HeadObject: whether its companion is built (`companion.status`).
      expect(requests.filter((r) => r === "HEAD object")).toHaveLength(answer.exports.length);
      expect(requests.length).toBe(1 + 2 * answer.exports.length);
    }
    expect(first.page.exports).toHaveLength(100);
    expect(first.page.exports[0]?.exportId).toBe(manifestOf(0).exportId);
    expect(second.page.exports[0]?.exportId).toBe(manifestOf(100).exportId);
    expect(second.page.exports.at(-1)?.exportId).toBe(manifestOf(199).exportId);
    expect(deep.page.exports.map((e) => e.exportId)).toEqual(
      Array.from({ length: 50 }, (_, n) => manifestOf(90_000 + n).exportId),
    );
  });

  it("ends at from: the oldest page has no nextCursor", async () => {
    const from = manifestOf(TOTAL - 1).createdAt;
    const last = await page(`limit=100&from=${from}&to=${manifestOf(TOTAL - 60).createdAt}`);

    expect(last.page.exports.map((e) => e.exportId)).toEqual(
      Array.from({ length: 60 }, (_, n) => manifestOf(TOTAL - 60 + n).exportId),
    );
    expect(last.page.nextCursor).toBeNull();
    expect(last.requests.length).toBe(1 + 2 * 60);
  });
});
