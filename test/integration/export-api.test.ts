import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUCKET, type Harness, sha256, startHarness } from "../support/export-harness.js";

const CSV =
  "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n5521912345678;2026-11-28 10:01:07\n";

describe("export API over HTTP", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV, "42/7": "source;session_created_at\n" } },
    });
  });
  afterAll(() => h.close());
  afterEach(() => {
    h.wavy.requests.length = 0;
  });

  it("copies the CSV byte for byte into S3 and answers 201 with its figures", async () => {
    const { status, headers, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(headers.get("location")).toBe(`/exports/${json.exportId}`);
    expect(json).toMatchObject({
      status: "succeeded",
      trigger: "request",
      customerId: "42",
      subAccountId: null,
      bucket: BUCKET,
      rows: 2,
      bytes: Buffer.byteLength(CSV),
      sha256: sha256(CSV),
    });
    expect(json.exportId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
    const date = String(json.createdAt).slice(0, 10);
    expect(json.key).toBe(
      `exports/customerId=42/subAccountId=all/date=${date}/${json.exportId}.csv`,
    );
    expect(json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(
      Date.parse(String(json.downloadUrlExpiresAt)) - Date.parse(String(json.createdAt)),
    ).toBeGreaterThanOrEqual(899_000);
    const stored = await h.readObject(String(json.key));
    expect(stored.equals(Buffer.from(CSV))).toBe(true);
    expect(await h.objectKeys(`manifests/${json.exportId}.json`)).toHaveLength(1);
  });

  it("hands out a download URL that returns the stored CSV", async () => {
    const { json } = await h.call("POST", "/exports", { customerId: 42 });

    const download = await fetch(String(json.downloadUrl));

    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(CSV))).toBe(true);
  });

  it("reads an export back with a fresh download URL", async () => {
    const created = await h.call("POST", "/exports", { customerId: "42" });

    const { status, json } = await h.call("GET", `/exports/${created.json.exportId}`);

    expect(status).toBe(200);
    // The companion may be built by now (issue 19): it is the one field that moves.
    const { downloadUrl: _a, downloadUrlExpiresAt: _b, companion: _c, ...stable } = created.json;
    expect(json).toMatchObject(stable);
    expect(typeof json.downloadUrl).toBe("string");
  });

  it("counts zero rows for a header-only CSV and files it under the sub-account", async () => {
    const { status, json } = await h.call("POST", "/exports", {
      customerId: "42",
      subAccountId: "7",
    });

    expect(status).toBe(201);
    expect(json).toMatchObject({ rows: 0, subAccountId: "7" });
    expect(String(json.key)).toContain("/subAccountId=7/");
    expect(h.wavy.sessionCalls()[0]?.query.get("subAccountId")).toBe("7");
  });

  it("sends the credentials to Wavy and never to the CSV host", async () => {
    await h.call("POST", "/exports", { customerId: "42" });

    const [session] = h.wavy.sessionCalls();
    expect(session?.headers.username).toBe(h.wavy.credentials.userName);
    expect(session?.headers.authenticationtoken).toBe(h.wavy.credentials.authenticationToken);
    const [file] = h.wavy.fileCalls();
    expect(file).toBeDefined();
    expect(file?.headers.username).toBeUndefined();
    expect(file?.headers.authenticationtoken).toBeUndefined();
  });

  it("serves the Wavy-compatible GET /v1/session with file_url", async () => {
    const { status, json } = await h.call("GET", "/v1/session?customerId=42");

    expect(status).toBe(200);
    expect(json.file_url).toBe(json.downloadUrl);
    expect(json).toMatchObject({ customerId: "42", rows: 2 });
  });

  it("runs several exports at once, each stored whole under its own id", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => h.call("POST", "/exports", { customerId: "42" })),
    );

    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201));
    expect(new Set(answers.map((a) => a.json.exportId)).size).toBe(8);
    for (const { json } of answers) {
      expect(sha256(await h.readObject(String(json.key)))).toBe(sha256(CSV));
    }
  });

  describe("refuses bad input with 400, without calling Wavy or writing to S3", () => {
    const cases: [string, string, string, unknown][] = [
      ["missing customerId", "POST", "/exports", {}],
      ["customerId zero", "POST", "/exports", { customerId: "0" }],
      ["leading zero", "POST", "/exports", { customerId: "042" }],
      ["negative integer", "POST", "/exports", { customerId: -4 }],
      ["fraction", "POST", "/exports", { customerId: 4.5 }],
      ["unsafe integer", "POST", "/exports", { customerId: 2 ** 53 }],
      ["19 digits", "POST", "/exports", { customerId: "1234567890123456789" }],
      ["letters", "POST", "/exports", { customerId: "42a" }],
      ["empty subAccountId", "POST", "/exports", { customerId: "42", subAccountId: "" }],
      ["boolean id", "POST", "/exports", { customerId: true }],
      ["a misspelt field", "POST", "/exports", { customerId: "42", subaccountId: "7" }],
      ["body not JSON", "POST", "/exports", "{customerId: 42"],
      ["body an array", "POST", "/exports", [{ customerId: "42" }]],
      ["body a string", "POST", "/exports", '"42"'],
      ["no body", "POST", "/exports", undefined],
      ["query without customerId", "GET", "/v1/session", undefined],
      ["empty subAccountId in query", "GET", "/v1/session?customerId=42&subAccountId=", undefined],
      ["repeated customerId", "GET", "/v1/session?customerId=42&customerId=43", undefined],
      ["export id outside the alphabet", "GET", "/exports/abc.def", undefined],
      ["export id too long", "GET", `/exports/${"a".repeat(129)}`, undefined],
    ];
    it.each(cases)("%s", async (_name, method, path, body) => {
      const before = await h.objectKeys();
      const { status, json } = await h.call(method, path, body);

      expect(status).toBe(400);
      expect(json).toEqual({ error: { code: "INVALID_REQUEST", message: expect.any(String) } });
      expect(h.wavy.requests).toHaveLength(0);
      expect(await h.objectKeys()).toEqual(before);
    });
  });

  it("names an unknown body field instead of exporting the whole customer", async () => {
    const { status, json } = await h.call("POST", "/exports", {
      customerId: "42",
      subaccountId: "7",
    });

    expect(status).toBe(400);
    expect(json).toEqual({
      error: {
        code: "INVALID_REQUEST",
        message:
          'unknown field "subaccountId": the body takes customerId and, optionally, subAccountId',
      },
    });
    expect(h.wavy.requests).toHaveLength(0);
  });

  it("answers 404 for an unknown route and for a well-formed unknown export id", async () => {
    const route = await h.call("GET", "/nowhere");
    const unknown = await h.call("GET", "/exports/20200101T000000Z-0000000000000000");

    expect(route.status).toBe(404);
    expect(route.json).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("answers 405 with an Allow header for a known route and the wrong method", async () => {
    const { status, headers, json } = await h.call("DELETE", "/exports");

    expect(status).toBe(405);
    expect(headers.get("allow")).toBe("GET, POST");
    expect(json).toMatchObject({ error: { code: "METHOD_NOT_ALLOWED" } });
  });
});
