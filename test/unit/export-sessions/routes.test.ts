import { describe, expect, it } from "vitest";
import { routeRequest } from "../../../lambdas/export-sessions/routes.js";
import {
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
} from "../../../lambdas/lib/errors.js";
import type { SucceededDocument } from "../../../lambdas/lib/exports/export-document.js";
import type {
  CreateExportOptions,
  ExportService,
} from "../../../lambdas/lib/exports-aws/export-service.js";
import type { SessionTarget } from "../../../lambdas/lib/ids.js";
import { type ApiEventInput, apiEvent } from "../../support/events.js";

const DOCUMENT: SucceededDocument = {
  exportId: "20261128T110231Z-85813170459822eb",
  status: "succeeded",
  trigger: "request",
  customerId: "42",
  subAccountId: "7",
  bucket: "wavy-sessions-test",
  key: "exports/customerId=42/subAccountId=7/date=2026-11-28/20261128T110231Z-85813170459822eb.csv",
  sessionsKey:
    "sessions/customerId=42/subAccountId=7/date=2026-11-28/20261128T110231Z-85813170459822eb.parquet",
  companion: {
    status: "pending",
    key: "sessions/customerId=42/subAccountId=7/date=2026-11-28/20261128T110231Z-85813170459822eb.parquet",
  },
  rows: 240,
  bytes: 8186,
  sha256: "755c99282e5aa85433827783243301c9637ea9e13082250ffe6eb9c067fcb6a8",
  createdAt: "2026-11-28T11:02:31.661Z",
  downloadUrl: "https://wavy-sessions-test.s3.amazonaws.com/exports/x.csv?X-Amz-Signature=abc",
  downloadUrlExpiresAt: "2026-11-28T11:17:31.661Z",
};

type Call =
  | { method: "createExport"; target: SessionTarget; options: CreateExportOptions | undefined }
  | { method: "readExport"; exportId: string }
  | { method: "closingSessions"; target: SessionTarget; withinMinutes: number };

/** An ExportService that records what the routes ask of it, and how often it is built. */
function recordingService() {
  const calls: Call[] = [];
  let builds = 0;
  const service: ExportService = {
    createExport: async (target, options) => {
      calls.push({ method: "createExport", target, options });
      return DOCUMENT;
    },
    readExport: async (exportId) => {
      calls.push({ method: "readExport", exportId });
      return DOCUMENT;
    },
    closingSessions: async (target, withinMinutes) => {
      calls.push({ method: "closingSessions", target, withinMinutes });
      return DOCUMENT;
    },
    listExports: async () => ({ exports: [DOCUMENT], nextCursor: null }),
    runAcceptedExport: async () => undefined,
    sweep: async () => ({ settled: 0, remaining: false }),
    snapshotExport: async () => DOCUMENT,
  };
  return {
    calls,
    builds: () => builds,
    api: () => {
      builds += 1;
      return service;
    },
  };
}

async function route(input: ApiEventInput) {
  const recorder = recordingService();
  const result = await routeRequest(apiEvent(input), recorder.api);
  return { ...recorder, result, json: JSON.parse(result.body) as unknown };
}

/** The error a request is refused with, and whether it got as far as building the service. */
async function refusal(input: ApiEventInput) {
  const recorder = recordingService();
  const error = await routeRequest(apiEvent(input), recorder.api).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (error === undefined) throw new Error(`accepted ${input.method} ${input.path}`);
  return { error, builds: recorder.builds() };
}

const POST_BODY = JSON.stringify({ customerId: "42", subAccountId: "7" });

describe("the route table", () => {
  it("creates an export on POST /exports and answers 201 with the document", async () => {
    // Act
    const { result, json, calls } = await route({
      method: "POST",
      path: "/exports",
      body: POST_BODY,
    });
    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
    });
    expect(json).toEqual(DOCUMENT);
    expect(calls).toEqual([
      {
        method: "createExport",
        target: { customerId: "42", subAccountId: "7" },
        options: { idempotencyKey: undefined, respondAsync: false, onReplay: expect.any(Function) },
      },
    ]);
  });

  it("reads a base64-encoded body as API Gateway passes a binary one", async () => {
    const { result, calls } = await route({
      method: "POST",
      path: "/exports",
      body: Buffer.from('{"customerId":42}').toString("base64"),
      isBase64Encoded: true,
    });
    expect(result.statusCode).toBe(201);
    expect(calls).toMatchObject([{ target: { customerId: "42", subAccountId: null } }]);
  });

  it("reads an export on GET /exports/{exportId} and answers 200", async () => {
    const { result, json, calls } = await route({ path: `/exports/${DOCUMENT.exportId}` });
    expect(result.statusCode).toBe(200);
    expect(json).toEqual(DOCUMENT);
    expect(calls).toEqual([{ method: "readExport", exportId: DOCUMENT.exportId }]);
  });

  it("exports on GET /v1/session and answers 200 with Wavy's file_url first", async () => {
    const { result, json, calls } = await route({
      path: "/v1/session",
      query: { customerId: "42", subAccountId: "7" },
    });
    expect(result.statusCode).toBe(200);
    expect(json).toEqual({ file_url: DOCUMENT.downloadUrl, ...DOCUMENT });
    expect(Object.keys(json as object)[0]).toBe("file_url");
    expect(calls).toEqual([
      {
        method: "createExport",
        target: { customerId: "42", subAccountId: "7" },
        options: undefined,
      },
    ]);
  });

  it("exports on GET /sessions/closing with the window, and answers 200 with the document", async () => {
    const { result, json, calls } = await route({
      path: "/sessions/closing",
      query: { customerId: "42", withinMinutes: "1440" },
    });
    expect(result.statusCode).toBe(200);
    expect(json).toEqual(DOCUMENT);
    expect(calls).toEqual([
      {
        method: "closingSessions",
        target: { customerId: "42", subAccountId: null },
        withinMinutes: 1440,
      },
    ]);
  });

  it.each([
    ["no window", {}, "withinMinutes: is required"],
    ["a window of 0", { withinMinutes: "0" }, "withinMinutes: must be a whole number"],
    ["a window past a day", { withinMinutes: "1441" }, "withinMinutes: must be a whole number"],
    ["a signed window", { withinMinutes: "+60" }, "withinMinutes: must be a whole number"],
    [
      "a misspelt sub-account, which would widen the list to the whole customer",
      { withinMinutes: "60", subaccountId: "7" },
      'Unknown query parameter "subaccountId": the query takes customerId, subAccountId and withinMinutes',
    ],
    [
      "an unknown parameter, named cut short",
      { withinMinutes: "60", ["x".repeat(500)]: "1" },
      `Unknown query parameter "${"x".repeat(40)}":`,
    ],
  ])("refuses GET /sessions/closing with %s before building the service", async (_n, q, m) => {
    const { error, builds } = await refusal({
      path: "/sessions/closing",
      query: { customerId: "42", ...q },
    });
    expect(error).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect((error as Error).message).toContain(m);
    expect(builds).toBe(0);
  });

  it("takes the method in any case", async () => {
    const { result } = await route({ method: "post", path: "/exports", body: POST_BODY });
    expect(result.statusCode).toBe(201);
  });

  it.each([
    ["POST", "/exports/", "createExport"],
    ["GET", "/exports/abc/", "readExport"],
    ["GET", "/v1/session/", "createExport"],
  ])("ignores a trailing slash: %s %s", async (method, path, called) => {
    const { result, calls } = await route({
      method,
      path,
      body: POST_BODY,
      query: { customerId: "42" },
    });
    expect(result.statusCode).toBeLessThan(300);
    expect(calls.map((call) => call.method)).toEqual([called]);
  });
});

describe("unknown routes and methods", () => {
  it.each([
    ["/", "No route for /"],
    ["", "No route for "],
    ["/export", "No route for /export"],
    ["/exports//", "No route for /exports/"],
    ["//exports", "No route for //exports"],
    ["/exports/a/b", "No route for /exports/a/b"],
    ["/v1/sessions", "No route for /v1/sessions"],
    ["/EXPORTS", "No route for /EXPORTS"],
  ])("answers 404 for %j", async (path, message) => {
    const { error, builds } = await refusal({ method: "GET", path });
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "NOT_FOUND", message });
    expect(builds).toBe(0);
  });

  it.each([
    ["PUT", "/exports", "GET, POST"],
    ["HEAD", "/exports/abc", "GET"],
    ["DELETE", "/exports/abc", "GET"],
    ["POST", "/v1/session", "GET"],
    ["OPTIONS", "/v1/session/", "GET"],
    ["constructor", "/exports", "GET, POST"],
    ["__proto__", "/exports", "GET, POST"],
    ["", "/exports", "GET, POST"],
  ])("answers 405 for %j %s with Allow: %s", async (method, path, allow) => {
    const { error, builds } = await refusal({ method, path, body: POST_BODY });
    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect(error).toMatchObject({
      status: 405,
      code: "METHOD_NOT_ALLOWED",
      headers: { Allow: allow },
      message: `Method not allowed; use ${allow}`,
    });
    expect(builds).toBe(0);
  });
});

describe("the export id in GET /exports/{exportId}", () => {
  it.each([
    ["a percent-escaped hyphen", "/exports/abc%2Ddef", "abc-def"],
    ["128 characters", `/exports/${"a".repeat(128)}`, "a".repeat(128)],
    ["the whole alphabet", "/exports/AZaz09_-", "AZaz09_-"],
  ])("is read after URL-decoding: %s", async (_name, path, exportId) => {
    const { calls } = await route({ path });
    expect(calls).toEqual([{ method: "readExport", exportId }]);
  });

  const ID_RULE = "exportId must be 1-128 characters of A-Z, a-z, 0-9, _ and -";
  it.each([
    ["129 characters", `/exports/${"a".repeat(129)}`, ID_RULE],
    ["a dot", "/exports/a.json", ID_RULE],
    ["a decoded slash", "/exports/a%2Fb", ID_RULE],
    ["a decoded dot-dot", "/exports/%2e%2e", ID_RULE],
    ["a literal dot-dot", "/exports/..", ID_RULE],
    ["a decoded NUL", "/exports/a%00", ID_RULE],
    ["a decoded space", "/exports/a%20b", ID_RULE],
    ["non-ASCII", "/exports/%C3%A9", ID_RULE],
    ["a truncated escape", "/exports/%E0%A4%A", "exportId is not a valid path segment"],
    ["a lone percent", "/exports/%", "exportId is not a valid path segment"],
  ])("is refused with 400 before the service is built: %s", async (_name, path, message) => {
    const { error, builds } = await refusal({ path });
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, code: "INVALID_REQUEST", message });
    expect(builds).toBe(0);
  });
});

describe("the Idempotency-Key header on POST /exports", () => {
  const post = (headers: ApiEventInput["headers"]) =>
    ({ method: "POST", path: "/exports", body: POST_BODY, headers }) satisfies ApiEventInput;

  it.each([
    ["Idempotency-Key", "order-1"],
    ["idempotency-key", "order-1"],
    ["IDEMPOTENCY-KEY", "order-1"],
  ])("is read under the name %s", async (name, key) => {
    const { calls } = await route(post({ [name]: key }));
    expect(calls).toMatchObject([{ method: "createExport", options: { idempotencyKey: key } }]);
  });

  it.each([
    ["the whole alphabet", "AZaz09_-.:"],
    ["128 characters", "k".repeat(128)],
  ])("accepts a key of %s", async (_name, key) => {
    const { calls } = await route(post({ "Idempotency-Key": key }));
    expect(calls).toMatchObject([{ options: { idempotencyKey: key } }]);
  });

  it("is read from the single-value headers when there are no multi-value ones", async () => {
    const event = apiEvent(post({ "Idempotency-Key": "order-1" }));
    const recorder = recordingService();
    await routeRequest({ ...event, multiValueHeaders: {} }, recorder.api);
    expect(recorder.calls).toMatchObject([{ options: { idempotencyKey: "order-1" } }]);
  });

  const KEY_RULE =
    "Idempotency-Key must be one value of 1-128 characters of A-Z, a-z, 0-9, _, -, . and :";
  it.each([
    ["sent twice under one name", { "Idempotency-Key": ["a", "a"] }],
    ["sent under two spellings of its name", { "Idempotency-Key": "a", "idempotency-key": "b" }],
    ["129 characters", { "Idempotency-Key": "k".repeat(129) }],
    ["empty", { "Idempotency-Key": "" }],
    ["a comma (two values folded)", { "Idempotency-Key": "a,b" }],
    ["a slash", { "Idempotency-Key": "../../manifests/x" }],
  ])("is refused with 400 before the service is built: %s", async (_name, headers) => {
    const { error, builds } = await refusal(post(headers));
    expect(error).toMatchObject({ status: 400, code: "INVALID_REQUEST", message: KEY_RULE });
    expect(builds).toBe(0);
  });

  it("is checked before the body", async () => {
    const { error } = await refusal({
      method: "POST",
      path: "/exports",
      body: "not json",
      headers: { "Idempotency-Key": "two words" },
    });
    expect(error).toMatchObject({ message: KEY_RULE });
  });

  it("is not read by GET /v1/session, which has no idempotency", async () => {
    const { calls } = await route({
      path: "/v1/session",
      query: { customerId: "42" },
      headers: { "Idempotency-Key": "order-1" },
    });
    expect(calls).toMatchObject([{ method: "createExport", options: undefined }]);
  });
});

describe("the target", () => {
  it("reads GET /v1/session's query as single values", async () => {
    const { calls } = await route({ path: "/v1/session", query: { customerId: "42" } });
    expect(calls).toMatchObject([{ target: { customerId: "42", subAccountId: null } }]);
  });

  it.each([
    ["customerId given twice", { customerId: ["42", "43"] }, "customerId is given more than once"],
    [
      "subAccountId given twice",
      { customerId: "42", subAccountId: ["7", "7"] },
      "subAccountId is given more than once",
    ],
    ["no query at all", {}, "customerId: is required"],
    [
      "an empty subAccountId",
      { customerId: "42", subAccountId: "" },
      "subAccountId: must be a positive integer id (1-18 digits, no leading zero)",
    ],
    [
      "a leading zero",
      { customerId: "042" },
      "customerId: must be a positive integer id (1-18 digits, no leading zero)",
    ],
  ])("refuses a query with %s", async (_name, query, message) => {
    const { error, builds } = await refusal({ path: "/v1/session", query });
    expect(error).toMatchObject({ status: 400, code: "INVALID_REQUEST", message });
    expect(builds).toBe(0);
  });

  it("ignores parameters GET /v1/session does not know, as Wavy's endpoint would", async () => {
    const { calls } = await route({
      path: "/v1/session",
      query: { customerId: "42", subAccountId: "7", format: "csv" },
    });
    expect(calls).toMatchObject([{ target: { customerId: "42", subAccountId: "7" } }]);
  });

  it.each([
    ["subaccountId", { customerId: "42", subaccountId: "7" }, "subAccountId"],
    ["SubAccountId", { customerId: "42", SubAccountId: "7" }, "subAccountId"],
    ["customerid", { customerid: "42" }, "customerId"],
    ["sub_account_id", { customerId: "42", sub_account_id: "7" }, "subAccountId"],
    ["sub-account-id", { customerId: "42", "sub-account-id": "7" }, "subAccountId"],
    ["customer_id", { customer_id: "42" }, "customerId"],
  ])("refuses GET /v1/session with the miscased id %s", async (name, query, meant) => {
    const { error, builds } = await refusal({ path: "/v1/session", query });
    expect(error).toMatchObject({
      status: 400,
      code: "INVALID_REQUEST",
      message: `Unknown query parameter "${name}": did you mean ${meant}?`,
    });
    expect(builds).toBe(0);
  });

  it("says a history bound's offset lost its + to form encoding, and how to write it", async () => {
    const { error, builds } = await refusal({
      path: "/exports",
      query: { customerId: "42", from: "2026-11-28T12:00:00 03:00" },
    });
    expect(error).toMatchObject({
      status: 400,
      code: "INVALID_REQUEST",
      message: expect.stringContaining('a "+" in a query string reads as a space'),
    });
    expect(error).toMatchObject({ message: expect.stringContaining("%2B") });
    expect(builds).toBe(0);
  });

  it.each([
    ["no body", null, "The request body must be a JSON object"],
    ["an empty body", "", "The request body must be a JSON object"],
    ["a body that is not JSON", "{", "The request body is not valid JSON"],
    ["a JSON array", "[]", "The request body must be a JSON object with customerId"],
    ["JSON null", "null", "The request body must be a JSON object with customerId"],
    ["a JSON string", '"42"', "The request body must be a JSON object with customerId"],
    ["no customerId", "{}", "customerId: is required"],
  ])("refuses POST /exports with %s", async (_name, body, message) => {
    const { error, builds } = await refusal({ method: "POST", path: "/exports", body });
    expect(error).toMatchObject({ status: 400, code: "INVALID_REQUEST", message });
    expect(builds).toBe(0);
  });
});
