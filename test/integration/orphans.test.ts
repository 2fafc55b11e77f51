import type { IncomingMessage } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 11, item 3: nothing under `exports/` may outlive a failed export. The export is recorded
 * `running` before the CSV is copied (docs/contract.md, "The export lifecycle"), so when S3 fails
 * at the manifest (and goes on failing, so no clean-up can get through) there is no CSV at all.
 */

const HEADER = "source;session_created_at\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";
const SMALL_CSV = HEADER + ROW.repeat(3);
/** Past one 5 MiB part: a multipart upload. */
const BIG_CSV = HEADER + ROW.repeat(Math.ceil((6 * 1024 * 1024) / ROW.length));

const path = (req: IncomingMessage) => new URL(req.url ?? "/", "http://s3").pathname;

describe("a failed export leaves no CSV under exports/", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { REQUEST_BUDGET_MS: "5000" } });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.s3.clearFaults();
    h.s3.openUploads.clear();
    await h.emptyBucket();
  });

  /** From the first manifest write on, S3 answers 500 to everything: no clean-up gets through. */
  function failFromTheManifestOn(): void {
    let broken = false;
    h.s3.injectFault((req) => {
      if (req.method === "PUT" && path(req).includes("/manifests/")) broken = true;
      return broken ? 500 : undefined;
    });
  }

  it.each([
    ["a CSV stored with one PutObject", SMALL_CSV],
    ["a CSV stored as a multipart upload", BIG_CSV],
  ])("when the manifest write fails and S3 keeps failing: %s", async (_name, csv) => {
    h.wavy.csvByTarget.set("42", csv);
    failFromTheManifestOn();

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    h.s3.clearFaults();
    expect(await h.objectKeys("exports/")).toEqual([]);
    expect(await h.objectKeys("manifests/")).toEqual([]);
    // A multipart upload whose abort could not get through stays open, invisible, until the
    // bucket's abort-incomplete-uploads rule removes it.
  });

  it.each([
    ["the one PutObject", SMALL_CSV, (req: IncomingMessage) => req.method === "PUT"],
    [
      "CompleteMultipartUpload",
      BIG_CSV,
      (req: IncomingMessage) => req.method === "POST" && (req.url ?? "").includes("uploadId="),
    ],
  ])("takes the manifest back when %s of the CSV fails after it", async (_name, csv, commit) => {
    h.wavy.csvByTarget.set("42", csv);
    h.s3.injectFault((req) => (path(req).includes("/exports/") && commit(req) ? 500 : undefined));

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(500);
    h.s3.clearFaults();
    expect(await h.objectKeys("exports/")).toEqual([]);
    expect(await h.objectKeys("manifests/")).toEqual([]);
    expect([...h.s3.openUploads.keys()]).toEqual([]);
  });

  it("writes in the one lifecycle's order: running record, then the CSV, then succeeded", async () => {
    h.wavy.csvByTarget.set("42", SMALL_CSV);
    h.s3.requests.length = 0;

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    const writes = h.s3.requests
      .filter((r) => r.method === "PUT" || r.method === "POST")
      .map((r) => r.path.split("/")[2])
      // What the copy writes beside the CSV (the companion) is not the lifecycle's to order.
      .filter((prefix) => prefix !== "sessions");
    // history entry, running index, running manifest, the CSV, the succeeded manifest.
    expect(writes).toEqual(["history", "manifests", "manifests", "exports", "manifests"]);
    // The read needs no check that the CSV exists: a succeeded manifest implies it. Its one
    // HeadObject is the companion's readiness (built in the background first).
    await h.companions(1);
    h.s3.requests.length = 0;
    expect((await h.call("GET", `/exports/${json.exportId}`)).status).toBe(200);
    expect(h.s3.requests.map((r) => `${r.method} ${r.path.split("/")[2]}`)).toEqual([
      "GET manifests",
      "HEAD sessions",
    ]);
    expect(await h.objectKeys("manifests/running/")).toEqual([]);
  });

  it("gives every PutObject its length: no SDK warning of a stream of unknown length", async () => {
    h.wavy.csvByTarget.set("42", SMALL_CSV);
    // The setup silences console.warn with a spy; the SDK's check writes there (issue 19).
    const warn = vi.mocked(console.warn);
    warn.mockClear();

    expect((await h.call("POST", "/exports", { customerId: "42" })).status).toBe(201);

    const warnings = warn.mock.calls.map((call) => String(call[0]));
    expect(warnings.filter((text) => text.includes("Stream of unknown length"))).toEqual([]);
  });
});
