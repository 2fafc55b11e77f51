import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleApiRequest } from "../../lambdas/export-sessions/handler.js";
import { loadExportConfig, once } from "../../lambdas/lib/config.js";
import { buildExportService } from "../../lambdas/lib/exports-aws/export-service.js";
import { apiEvent } from "../support/events.js";
import { BUCKET, type Harness, startHarness, TEST_BACKOFF } from "../support/export-harness.js";

/**
 * Hostile input against the real handler and the real ExportService (Wavy simulator, s3rver): for
 * any method, path, query, headers and body, a client's mistake is a 4xx in the contract's
 * envelope and touches neither Wavy nor S3 (no write of any kind). A request that happens to be
 * valid may export (201/200): that is the only way a side effect is allowed.
 */

/** ~3 s alone, under 10 s beside the rest of the suite on two cores; FUZZ_RUNS for longer runs. */
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const EXPECTED_CODES: Record<number, string> = {
  400: "INVALID_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
};

let h: Harness;
let handle: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
let s3Writes = 0;
let validRequests = 0;

beforeAll(async () => {
  h = await startHarness();
  const config = loadExportConfig({
    WAVY_USER_NAME: h.wavy.credentials.userName,
    WAVY_AUTH_TOKEN: h.wavy.credentials.authenticationToken,
    WAVY_API_URL: h.wavy.baseUrl,
    WAVY_DOWNLOAD_ORIGINS: h.wavy.baseUrl,
    EXPORT_BUCKET: BUCKET,
    S3_FORCE_PATH_STYLE: "true",
  });
  handle = handleApiRequest(
    once(() => buildExportService(config, { s3: h.s3Client, backoff: TEST_BACKOFF })),
  );
  h.s3.injectFault((req) => {
    if (req.method !== "GET" && req.method !== "HEAD") s3Writes += 1;
    return undefined;
  });
});
afterAll(() => h.close());

// --- arbitraries ---------------------------------------------------------------------------

const method = fc.oneof(
  fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"),
  fc.constantFrom("post", "Get", "pOsT", "CONSTRUCTOR", "__proto__", "toString", ""),
  fc.string({ maxLength: 12 }),
);

const idLike = fc.oneof(
  fc.stringMatching(/^[1-9][0-9]{0,17}$/),
  fc.stringMatching(/^[0-9]{0,22}$/),
  fc.stringMatching(/^0[0-9]{0,5}$/),
  fc.constantFrom("0", "-1", "1e3", "0x10", " 42", "42 ", "４２", "9007199254740993", "", "null"),
  fc.string({ maxLength: 30 }),
);

const idValue = fc.oneof(
  idLike,
  fc.integer(),
  fc.double(),
  fc.bigInt().map(String),
  fc.constantFrom(null, true, false, 0, -5, 1.5, 2 ** 53, Number.MAX_VALUE),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }),
);

const targetLike = fc.record(
  {
    customerId: idValue,
    subAccountId: idValue,
    __proto__: fc.constant({ customerId: "42" }),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

const jsonBody = fc.oneof(
  targetLike.map((value) => JSON.stringify(value)),
  fc.json(),
  fc.jsonValue().map((value) => JSON.stringify(value)),
);

const rawBody = fc.oneof(
  { weight: 4, arbitrary: jsonBody },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom("{", "[]", "null", '"42"', "42", '{"customerId":') },
);

/** The body as API Gateway hands it over: text, base64 of text, base64 of garbage, or none. */
const body = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ body: null, isBase64Encoded: false }) },
  { weight: 5, arbitrary: rawBody.map((text) => ({ body: text, isBase64Encoded: false })) },
  {
    weight: 2,
    arbitrary: rawBody.map((text) => ({
      body: Buffer.from(text).toString("base64"),
      isBase64Encoded: true,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 80 }).map((text) => ({ body: text, isBase64Encoded: true })),
  },
);

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,140}$/),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("%", "%E0%A4%A", "..", "%2e%2e", "a%2Fb", "%00", "manifests", "a.json"),
);

const path = fc.oneof(
  fc.constantFrom("/exports", "/exports/", "/v1/session", "/v1/session/", "/", "", "//exports"),
  segment.map((s) => `/exports/${s}`),
  fc.tuple(segment, segment).map(([a, b]) => `/exports/${a}/${b}`),
  fc.webPath(),
  fc.string({ maxLength: 40 }),
);

const queryEntries = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom("customerId", "subAccountId", "__proto__", "constructor"),
      fc.string({ maxLength: 10 }),
    ),
    idLike,
  ),
  { maxLength: 4 },
);

const headerEntries = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom("Idempotency-Key", "idempotency-key", "Content-Type", "Content-Encoding"),
      fc.string({ minLength: 1, maxLength: 12 }),
    ),
    fc.oneof(fc.string({ maxLength: 140 }), fc.constantFrom("gzip", "application/json", "")),
  ),
  { maxLength: 4 },
);

const anyEvent = fc
  .record({ method, path, body, query: queryEntries, headers: headerEntries })
  .map(({ method, path, body, query, headers }) =>
    apiEvent({ method, path, ...body, query, headers }),
  );

/** Close to a real call, so valid requests (and the edges around them) come up often. */
const nearValidEvent = fc
  .record({
    method: fc.constantFrom("POST", "post", "GET"),
    path: fc.constantFrom("/exports", "/exports/", "/v1/session"),
    target: fc.oneof(
      targetLike,
      fc.record(
        {
          customerId: fc.oneof(fc.stringMatching(/^[1-9][0-9]{0,17}$/), fc.integer({ min: 1 })),
          subAccountId: fc.oneof(idValue, fc.constant(null)),
        },
        { requiredKeys: ["customerId"] },
      ),
    ),
    base64: fc.boolean(),
    query: fc.record(
      { customerId: idLike, subAccountId: fc.oneof(idLike, fc.constant("")) },
      { requiredKeys: [] },
    ),
    key: fc.option(
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,6}$/), fc.string({ maxLength: 140 })),
    ),
  })
  .map(({ method, path, target, base64, query, key }) => {
    const text = JSON.stringify(target);
    return apiEvent({
      method,
      path,
      body: base64 ? Buffer.from(text).toString("base64") : text,
      isBase64Encoded: base64,
      query: Object.entries(query),
      headers: key === null ? [] : [["Idempotency-Key", key]],
    });
  });

const event = fc.oneof(
  { weight: 3, arbitrary: anyEvent },
  { weight: 1, arbitrary: nearValidEvent },
);

// --- the property --------------------------------------------------------------------------

async function assessOne(input: APIGatewayProxyEvent): Promise<void> {
  const wavyBefore = h.wavy.requests.length;
  const writesBefore = s3Writes;

  const result = await handle(input);

  const { statusCode: status } = result;
  const context = `${input.httpMethod} ${JSON.stringify(input.path)} -> ${status} ${result.body.slice(0, 200)}`;
  expect([200, 201, 400, 404, 405], context).toContain(status);
  expect(result.headers?.["Content-Type"], context).toMatch(/^application\/json/);
  const json = JSON.parse(result.body) as Record<string, unknown>;
  if (status < 400) {
    validRequests += 1;
    return;
  }
  expect(Object.keys(json), context).toEqual(["error"]);
  const error = json.error as Record<string, unknown>;
  expect(Object.keys(error).sort(), context).toEqual(["code", "message"]);
  expect(error.code, context).toBe(EXPECTED_CODES[status]);
  expect(typeof error.message === "string" && error.message.length > 0, context).toBe(true);
  if (status === 405) expect(result.headers?.Allow, context).toMatch(/^(GET|POST)/);
  expect(h.wavy.requests.length - wavyBefore, `Wavy was called for ${context}`).toBe(0);
  expect(s3Writes - writesBefore, `S3 was written for ${context}`).toBe(0);
}

describe("hostile input", () => {
  it(`never answers 5xx, always the envelope, no side effect for invalid input (${NUM_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(event, assessOne), { numRuns: NUM_RUNS });
    // The generator must also produce valid requests, or "no side effect" proves little.
    expect(validRequests).toBeGreaterThan(0);
  });

  const HUGE_DIGITS = "9".repeat(100_000);
  const DEEP = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;
  const DEEP_OBJECT = `{"customerId":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;

  it.each([
    ["a 6 MB body", "POST", "/exports", `{"customerId":"${"1".repeat(6 * 1024 * 1024)}"}`, null],
    ["a 100,000-digit id", "POST", "/exports", `{"customerId":${HUGE_DIGITS}}`, null],
    ["a 100,000-digit id as a string", "POST", "/exports", `{"customerId":"${HUGE_DIGITS}"}`, null],
    ["an array nested 50,000 deep", "POST", "/exports", DEEP, null],
    ["an id nested 20,000 objects deep", "POST", "/exports", DEEP_OBJECT, null],
    ["a 100,000-character export id", "GET", `/exports/${"a".repeat(100_000)}`, null, null],
    ["a 100,000-digit query id", "GET", "/v1/session", null, { customerId: HUGE_DIGITS }],
    [
      "10,000 query parameters",
      "GET",
      "/v1/session",
      null,
      Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, "x"])),
    ],
  ])("refuses %s with a 400 and no side effect", async (_name, httpMethod, path, text, query) => {
    const input = apiEvent({ method: httpMethod, path, body: text, query: query ?? {} });
    const result = await handle(input);
    expect(result.statusCode).toBe(400);
    await assessOne(input);
  });
});
