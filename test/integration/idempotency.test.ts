import { PutObjectCommand, type S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { routeRequest } from "../../lambdas/export-sessions/routes.js";
import { IDEMPOTENCY_TTL_MS, idempotencyRecordKey } from "../../lambdas/lib/exports/idempotency.js";
import { apiEvent } from "../support/events.js";
import { BUCKET, type Harness, sha256, startHarness } from "../support/export-harness.js";

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

let now = Date.parse("2026-11-28T12:00:00.000Z");
const clock = () => new Date(now);

describe("S3 conditional writes in the local S3 front", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const put = (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
    h.s3Client
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...condition }))
      .then(
        (out) => ({ status: 200, etag: out.ETag }),
        (error: S3ServiceException) => ({ status: error.$metadata.httpStatusCode, etag: "" }),
      );

  it("If-None-Match: * writes once, then answers 412", async () => {
    expect((await put("cond/a", "1", { IfNoneMatch: "*" })).status).toBe(200);
    expect((await put("cond/a", "2", { IfNoneMatch: "*" })).status).toBe(412);
    expect((await h.readObject("cond/a")).toString()).toBe("1");
  });

  it("If-Match replaces only the version it names; 404 when there is none", async () => {
    const first = await put("cond/b", "1", {});
    expect((await put("cond/b", "2", { IfMatch: '"0000"' })).status).toBe(412);
    expect((await put("cond/b", "2", { IfMatch: first.etag })).status).toBe(200);
    expect((await put("cond/missing", "2", { IfMatch: first.etag })).status).toBe(404);
  });

  it("elects exactly one writer among concurrent If-None-Match PUTs", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => put("cond/race", String(i), { IfNoneMatch: "*" })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.every((status) => [200, 409, 412].includes(status ?? 0))).toBe(true);
  });
});

describe("Idempotency-Key on POST /exports", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV, "43": CSV } },
      deps: { clock },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  const post = (body: unknown, key?: string) =>
    h.call("POST", "/exports", body, key === undefined ? {} : { "Idempotency-Key": key });

  it("answers a retry with the same export and makes no second Wavy call", async () => {
    const first = await post({ customerId: "42" }, "retry-1");
    const again = await post({ customerId: 42 }, "retry-1");

    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.json.exportId).toBe(first.json.exportId);
    expect(again.json).toMatchObject({ key: first.json.key, sha256: sha256(CSV), rows: 1 });
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    expect(await h.objectKeys("exports/")).toHaveLength(1);
    expect(await h.objectKeys(idempotencyRecordKey("retry-1"))).toHaveLength(1);
  });

  it("marks a replay with Idempotent-Replayed: true, and only a replay", async () => {
    const first = await post({ customerId: "42" }, "replayed-1");
    const again = await post({ customerId: "42" }, "replayed-1");
    const unkeyed = await post({ customerId: "42" });

    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json.exportId).toBe(first.json.exportId);
    expect(unkeyed.headers.get("idempotent-replayed")).toBeNull();
  });

  it("makes a new export for each request without a key (control)", async () => {
    const first = await post({ customerId: "42" });
    const second = await post({ customerId: "42" });

    expect(second.json.exportId).not.toBe(first.json.exportId);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("refuses the same key with a different body: 400, no Wavy call", async () => {
    await post({ customerId: "42" }, "reused");
    h.wavy.requests.length = 0;

    const other = await post({ customerId: "42", subAccountId: "7" }, "reused");

    expect(other.status).toBe(400);
    expect(other.json).toEqual({
      error: { code: "INVALID_REQUEST", message: expect.stringContaining("different request") },
    });
    expect(h.wavy.requests).toHaveLength(0);
  });

  it("runs concurrent duplicates once: one Wavy call, one object, one exportId", async () => {
    // A slow CSV keeps the first request busy while the others arrive.
    h.wavy.csvByTarget.set("43", () => CSV);
    const slow = h.wavy.serveFile((_req, res) => {
      res.writeHead(200);
      setTimeout(() => res.end(CSV), 400);
    });
    h.wavy.linkTo(slow);

    const answers = await Promise.all(
      Array.from({ length: 12 }, () => post({ customerId: "43" }, "burst-1")),
    );

    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(201));
    expect(new Set(answers.map((answer) => answer.json.exportId)).size).toBe(1);
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    expect(await h.objectKeys("exports/")).toHaveLength(1);
  });

  it("releases the key when the export fails, so the retry runs", async () => {
    h.wavy.replySession({ status: 400, body: "{}" });

    const failed = await post({ customerId: "42" }, "after-failure");
    const retried = await post({ customerId: "42" }, "after-failure");

    expect(failed.status).toBe(502);
    expect(retried.status).toBe(201);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("holds a key for 24 hours, then makes a new export", async () => {
    const first = await post({ customerId: "42" }, "daily");
    now += IDEMPOTENCY_TTL_MS - 1000;
    const withinDay = await post({ customerId: "42" }, "daily");
    now += 2000;
    const nextDay = await post({ customerId: "42" }, "daily");

    expect(withinDay.json.exportId).toBe(first.json.exportId);
    expect(nextDay.status).toBe(201);
    expect(nextDay.json.exportId).not.toBe(first.json.exportId);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("frees an expired key for another body", async () => {
    const first = await post({ customerId: "42" }, "reused-next-day");
    now += IDEMPOTENCY_TTL_MS + 1000;

    const otherBody = await post({ customerId: "43" }, "reused-next-day");

    expect(first.status).toBe(201);
    expect(otherBody.status).toBe(201);
    expect(otherBody.json).toMatchObject({ customerId: "43" });
    expect(otherBody.json.exportId).not.toBe(first.json.exportId);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("takes over a claim abandoned by a request that died before its manifest", async () => {
    await h.s3Client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: idempotencyRecordKey("orphan"),
        Body: JSON.stringify({
          exportId: "20261128T115800Z-deadbeefdeadbeef",
          fingerprint: sha256(JSON.stringify(["42", null])),
          claimedAt: new Date(now - 120_000).toISOString(),
        }),
      }),
    );

    const answer = await post({ customerId: "42" }, "orphan");

    expect(answer.status).toBe(201);
    expect(answer.json.exportId).not.toBe("20261128T115800Z-deadbeefdeadbeef");
    expect(h.wavy.sessionCalls()).toHaveLength(1);
  });

  it("lets a waiting duplicate take over when the first request fails", async () => {
    h.wavy.linkTo(
      h.wavy.serveFile((_req, res) => {
        setTimeout(() => res.writeHead(404).end(), 600);
      }),
    );
    const first = post({ customerId: "42" }, "first-fails");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const duplicate = await post({ customerId: "42" }, "first-fails");

    // Whichever claimed the key first met the failing CSV; the other then ran the export.
    expect([(await first).status, duplicate.status].sort()).toEqual([201, 502]);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it.each([
    ["empty", ""],
    ["129 characters", "k".repeat(129)],
    ["a space", "two words"],
    ["a slash", "../../manifests/x"],
    ["a comma (two values folded)", "a,b"],
    ["non-ASCII", "clé"],
    ["a control character", "a\u0001b"],
  ])("refuses a key with %s: 400, nothing called", async (_name, key) => {
    const event = apiEvent({
      method: "POST",
      path: "/exports",
      headers: { "idempotency-key": key },
      body: '{"customerId":"42"}',
    });
    let built = false;

    await expect(
      routeRequest(event, () => {
        built = true;
        throw new Error("the API must not be built for an invalid request");
      }),
    ).rejects.toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect(built).toBe(false);
  });

  it("refuses a key sent twice", async () => {
    const event = apiEvent({
      method: "POST",
      path: "/exports",
      headers: { "Idempotency-Key": ["a", "b"] },
      body: '{"customerId":"42"}',
    });

    await expect(
      routeRequest(event, () => {
        throw new Error("not built");
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe("Idempotency-Key held by a request that is still running", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: "800" },
    });
  });
  afterAll(() => h.close());

  it("waits for it within its own budget, then answers 504 without calling Wavy", async () => {
    // A claim ten seconds old without a manifest: not abandoned yet, so it must not be taken.
    await h.s3Client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: idempotencyRecordKey("busy"),
        Body: JSON.stringify({
          exportId: "20261128T115800Z-0123456789abcdef",
          fingerprint: sha256(JSON.stringify(["42", null])),
          claimedAt: new Date(Date.now() - 10_000).toISOString(),
        }),
      }),
    );
    const started = Date.now();

    const answer = await h.call(
      "POST",
      "/exports",
      { customerId: "42" },
      { "Idempotency-Key": "busy" },
    );

    expect(answer.status).toBe(504);
    expect(answer.json).toMatchObject({
      error: { code: "UPSTREAM_TIMEOUT", message: expect.stringContaining("still running") },
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.wavy.requests).toHaveLength(0);
  });
});

describe("Idempotency-Key across the synchronous and asynchronous paths", () => {
  let h: Harness;
  const ASYNC = { Prefer: "respond-async" };

  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    await h.lambda.idle();
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  const post = (key: string, headers: Record<string, string> = {}) =>
    h.call("POST", "/exports", { customerId: "42" }, { "Idempotency-Key": key, ...headers });

  it("answers a synchronous retry of a running asynchronous export with 202 and the same export", async () => {
    // The worker waits until the retry has been answered.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.wavy.linkTo(
      h.wavy.serveFile(async (_req, res) => {
        await held;
        res.writeHead(200).end(CSV);
      }),
    );
    const first = await post("both-1", ASYNC);
    const retry = await post("both-1");
    release();
    await h.lambda.idle();
    const after = await post("both-1", ASYNC);

    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.json).toMatchObject({ exportId: first.json.exportId, status: "running" });
    expect(retry.headers.get("location")).toBe(`/exports/${first.json.exportId}`);
    expect(after.status).toBe(201);
    expect(after.json).toMatchObject({
      exportId: first.json.exportId,
      status: "succeeded",
      sha256: sha256(CSV),
    });
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    expect(await h.objectKeys("exports/")).toHaveLength(1);
  });

  it("answers an asynchronous retry of a finished synchronous export with 201 and the same export", async () => {
    const first = await post("both-2");
    const retry = await post("both-2", ASYNC);

    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.json).toMatchObject({ exportId: first.json.exportId, status: "succeeded" });
    expect(retry.headers.get("preference-applied")).toBeNull();
    expect(
      h.lambda.invocations.filter(
        (i) => (i.payload as { exportId: string }).exportId === first.json.exportId,
      ),
    ).toEqual([]);
    expect(h.wavy.sessionCalls()).toHaveLength(1);
  });

  it("answers a retry of a failed asynchronous export with that failed export, not a new one", async () => {
    h.wavy.replySession({ status: 403, body: "{}" });
    const first = await post("both-3", ASYNC);
    await h.lambda.idle();

    const retry = await post("both-3");

    expect(retry.status).toBe(201);
    expect(retry.json).toMatchObject({
      exportId: first.json.exportId,
      status: "failed",
      error: { code: "UPSTREAM_ERROR" },
    });
    expect(h.wavy.sessionCalls()).toHaveLength(1);
  });

  it("releases the key when the asynchronous export could not be started, so a retry runs", async () => {
    h.lambda.refuseInvokes(500);
    const first = await post("both-4", ASYNC);
    h.lambda.refuseInvokes(undefined);
    const retry = await post("both-4", ASYNC);
    await h.lambda.idle();

    expect(first.status).toBe(500);
    expect(retry.status).toBe(202);
    expect((await h.call("GET", `/exports/${retry.json.exportId}`)).json.status).toBe("succeeded");
  });
});
