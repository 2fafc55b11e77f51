import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/export-harness.js";

/** GET /sessions/closing over HTTP, through the same API Gateway stand-in as npm start. */

const HEADER = "source;session_created_at\n";
const NOW = new Date("2026-11-28T12:00:00.000Z");
/** São Paulo wall clock (UTC-3) of a creation time `minutes` after NOW minus 24 h. */
function createdClosingIn(minutes: number): string {
  const created = new Date(NOW.getTime() - 24 * 3_600_000 + minutes * 60_000 - 3 * 3_600_000);
  return created.toISOString().slice(0, 19).replace("T", " ");
}
const CSV = `${HEADER}${[
  ["5511000000001", createdClosingIn(30)],
  ["5511000000002", createdClosingIn(5)],
  ["5511000000003", createdClosingIn(61)],
  ["5511000000004", createdClosingIn(60)],
  ["5511000000005", createdClosingIn(0)],
  ["5511000000006", "garbage"],
]
  .map((row) => row.join(";"))
  .join("\n")}\n`;

async function expectNothingLeft(h: Harness): Promise<void> {
  for (const prefix of ["exports/", "sessions/", "closing/", "manifests/"]) {
    expect(await h.objectKeys(prefix), prefix).toEqual([]);
  }
  expect([...h.s3.openUploads.keys()]).toEqual([]);
}

describe("GET /sessions/closing", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV, "42/7": HEADER } },
      deps: { clock: () => new Date(NOW) },
      env: { REQUEST_BUDGET_MS: "20000" },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.s3.clearFaults();
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  it("performs an export and lists the destinations closing within the window, soonest first", async () => {
    const { status, json } = await h.call(
      "GET",
      "/sessions/closing?customerId=42&withinMinutes=60",
    );

    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({
      customerId: "42",
      subAccountId: null,
      rows: 6,
      sessionsKey: expect.stringMatching(
        /^sessions\/customerId=42\/subAccountId=all\/date=2026-11-28\/.+\.parquet$/,
      ),
      closing: {
        withinMinutes: 60,
        count: 3,
        key: `closing/customerId=42/subAccountId=all/date=2026-11-28/${json.exportId}-within-60m.csv`,
        downloadUrl: expect.stringContaining("X-Amz-Signature="),
        downloadUrlExpiresAt: "2026-11-28T12:15:00.000Z",
      },
    });
    const closing = json.closing as { key: string };
    expect((await h.readObject(closing.key)).toString("utf8")).toBe(
      [
        "source;closes_at",
        "5511000000002;2026-11-28T12:05:00.000Z",
        "5511000000001;2026-11-28T12:30:00.000Z",
        "5511000000004;2026-11-28T13:00:00.000Z",
        "",
      ].join("\n"),
    );
    // The export itself is as POST /exports makes it: the CSV byte for byte, its manifest (GET
    // /exports/{id} answers it, without the per-request closing list), its companion built after.
    expect((await h.readObject(String(json.key))).toString("utf8")).toBe(CSV);
    await h.companions(1);
    expect(await h.objectKeys(String(json.sessionsKey))).toHaveLength(1);
    const again = await h.call("GET", `/exports/${json.exportId}`);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ exportId: json.exportId, sessionsKey: json.sessionsKey });
    expect(again.json).not.toHaveProperty("closing");
  });

  it("takes the sub-account, and answers an empty list as a header alone", async () => {
    const { status, json } = await h.call(
      "GET",
      "/sessions/closing?customerId=42&subAccountId=7&withinMinutes=1440",
    );

    expect(status).toBe(200);
    expect(json).toMatchObject({ subAccountId: "7", rows: 0, closing: { count: 0 } });
    const closing = json.closing as { key: string };
    expect((await h.readObject(closing.key)).toString("utf8")).toBe("source;closes_at\n");
  });

  it.each([
    ["no window", "customerId=42"],
    ["a window of 0", "customerId=42&withinMinutes=0"],
    ["a window past a day", "customerId=42&withinMinutes=1441"],
    ["a fraction", "customerId=42&withinMinutes=1.5"],
    ["a leading zero", "customerId=42&withinMinutes=060"],
    ["words", "customerId=42&withinMinutes=soon"],
    ["a repeated window", "customerId=42&withinMinutes=5&withinMinutes=6"],
    ["no customer", "withinMinutes=60"],
    ["a bad customer", "customerId=042&withinMinutes=60"],
  ])("answers 400 for %s, calling no one and writing nothing", async (_name, query) => {
    const { status, json } = await h.call("GET", `/sessions/closing?${query}`);

    expect(status).toBe(400);
    expect(json).toEqual({ error: { code: "INVALID_REQUEST", message: expect.any(String) } });
    expect(h.wavy.requests).toEqual([]);
    await expectNothingLeft(h);
  });

  it("answers 405 with Allow: GET for another method", async () => {
    const { status, headers } = await h.call("POST", "/sessions/closing", {});

    expect(status).toBe(405);
    expect(headers.get("allow")).toBe("GET");
  });

  it("answers 500 and leaves nothing when S3 refuses the list", async () => {
    h.s3.injectFault((req) =>
      req.method === "PUT" && (req.url ?? "").includes("/closing/") ? 503 : undefined,
    );

    const { status, json } = await h.call(
      "GET",
      "/sessions/closing?customerId=42&withinMinutes=60",
    );

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    h.s3.clearFaults();
    await expectNothingLeft(h);
  });

  it("takes the written list back when the manifest is refused", async () => {
    h.s3.injectFault((req) =>
      req.method === "PUT" && (req.url ?? "").includes("/manifests/") ? 503 : undefined,
    );

    const { status } = await h.call("GET", "/sessions/closing?customerId=42&withinMinutes=60");

    expect(status).toBe(500);
    h.s3.clearFaults();
    await expectNothingLeft(h);
  });

  it("sorts a list larger than one in-memory run (spilled to /tmp and merged)", async () => {
    const rows = 150_000;
    const lines: string[] = [HEADER];
    for (let i = 0; i < rows; i++) {
      // Closing 1..1439 minutes from now, in an order unlike the closing one.
      lines.push(`55${String(i).padStart(11, "0")};${createdClosingIn(1 + ((i * 7) % 1439))}\n`);
    }
    h.wavy.csvByTarget.set("1001", lines.join(""));

    const { status, json } = await h.call(
      "GET",
      "/sessions/closing?customerId=1001&withinMinutes=1440",
    );

    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ rows, closing: { count: rows } });
    const list = (await h.readObject((json.closing as { key: string }).key))
      .toString("utf8")
      .split("\n");
    expect(list).toHaveLength(rows + 2);
    let sorted = true;
    for (let i = 2; i <= rows; i++) {
      if ((list[i] as string).slice(14) < (list[i - 1] as string).slice(14)) sorted = false;
    }
    expect(sorted).toBe(true);
  }, 60_000);
});
