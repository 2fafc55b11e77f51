import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createCredentialCache } from "../../lambdas/lib/wavy/credentials.js";
import {
  type Harness,
  linkToCsvThatDisconnectsOnceUploading,
  startHarness,
} from "../support/export-harness.js";

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";

/** Every failure must leave S3 as it found it: no export object, no open multipart upload. */
async function expectNothingLeft(h: Harness): Promise<void> {
  expect(await h.objectKeys("exports/")).toEqual([]);
  expect(await h.objectKeys("manifests/")).toEqual([]);
  expect(await h.objectKeys("sessions/")).toEqual([]);
  expect(await h.objectKeys("closing/")).toEqual([]);
  expect([...h.s3.openUploads.keys()]).toEqual([]);
}

describe("export failures", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: "10000", MAX_CSV_BYTES: String(30 * 1024 * 1024) },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.wavy.requests.length = 0;
    h.s3.clearFaults();
    await h.emptyBucket();
  });

  describe.each([400, 403, 404, 405, 412])("Wavy answers %i", (status) => {
    it("answers 502 UPSTREAM_ERROR naming the status, without retrying", async () => {
      h.wavy.replySession({ status, body: '{"error":"no"}' });

      const { status: answer, json } = await h.call("POST", "/exports", { customerId: "42" });

      expect(answer).toBe(502);
      expect(json).toMatchObject({
        error: { code: "UPSTREAM_ERROR", message: expect.stringContaining(String(status)) },
      });
      expect(h.wavy.sessionCalls()).toHaveLength(1);
      await expectNothingLeft(h);
    });
  });

  it("retries a 500 and answers 502 when Wavy keeps failing", async () => {
    h.wavy.replySession({ status: 500 }, { status: 500 }, { status: 500 });

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({
      error: { code: "UPSTREAM_ERROR", message: expect.stringContaining("500") },
    });
    expect(h.wavy.sessionCalls()).toHaveLength(3);
  });

  it("recovers when a 5xx is followed by success", async () => {
    h.wavy.replySession({ status: 503 });

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("retries a 504 and answers 504 UPSTREAM_TIMEOUT", async () => {
    h.wavy.replySession({ status: 504 }, { status: 504 }, { status: 504 });

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(504);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(h.wavy.sessionCalls()).toHaveLength(3);
  });

  it.each([420, 429])(
    "answers 503 with Retry-After 30 when Wavy keeps answering %i without one",
    async (code) => {
      h.wavy.replySession({ status: code }, { status: code }, { status: code });

      const { status, headers, json } = await h.call("POST", "/exports", { customerId: "42" });

      expect(status).toBe(503);
      expect(headers.get("retry-after")).toBe("30");
      expect(json).toMatchObject({ error: { code: "UPSTREAM_THROTTLED" } });
      expect(h.wavy.sessionCalls()).toHaveLength(3);
    },
  );

  it("waits out a short Retry-After and then succeeds", async () => {
    h.wavy.replySession({ status: 429, headers: { "retry-after": "1" } });
    const started = Date.now();

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(h.wavy.sessionCalls()).toHaveLength(2);
  });

  it("does not wait for a Retry-After longer than the budget: 503 with Wavy's value", async () => {
    h.wavy.replySession({ status: 429, headers: { "retry-after": "120" } });

    const { status, headers } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(503);
    expect(headers.get("retry-after")).toBe("120");
    expect(h.wavy.sessionCalls()).toHaveLength(1);
  });

  it.each([
    ["invalid JSON", "{file_url:"],
    ["an HTML error page", "<html><body>Bad gateway</body></html>"],
    ["no file_url", '{"success":true}'],
    ["a file_url that is not a URL", '{"file_url":"not a url"}'],
  ])("answers 502 when Wavy's 200 carries %s", async (_name, body) => {
    h.wavy.replySession({ status: 200, body });

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_ERROR" } });
    await expectNothingLeft(h);
  });

  it("reads a Wavy answer that starts with a UTF-8 BOM", async () => {
    const fileUrl = h.wavy.serveFile((_req, res) => res.writeHead(200).end(CSV));
    h.wavy.replySession({ status: 200, body: `\uFEFF${JSON.stringify({ file_url: fileUrl })}` });

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(json).toMatchObject({ rows: 1, bytes: Buffer.byteLength(CSV) });
  });

  it("refuses a CSV link outside the allowed origins without fetching it", async () => {
    const port = new URL(h.wavy.baseUrl).port;
    h.wavy.linkTo(`http://localhost:${port}/files/elsewhere`);

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({
      error: { code: "UPSTREAM_ERROR", message: expect.stringContaining("allowed") },
    });
    expect(h.wavy.fileCalls()).toHaveLength(0);
    await expectNothingLeft(h);
  });

  it("refuses a redirect to an origin outside the allow-list", async () => {
    const port = new URL(h.wavy.baseUrl).port;
    const target = h.wavy.serveFile((_req, res) => res.writeHead(200).end(CSV), "target");
    const redirect = h.wavy.serveFile((_req, res) =>
      res.writeHead(302, { location: target.replace("127.0.0.1", "localhost") }).end(),
    );
    h.wavy.linkTo(redirect);

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(h.wavy.fileCalls().map((c) => c.path)).not.toContain("/files/target");
    expect(port).not.toBe("");
    await expectNothingLeft(h);
  });

  it("follows an allowed redirect and stores the final CSV", async () => {
    const target = h.wavy.serveFile((_req, res) => res.writeHead(200).end(CSV));
    h.wavy.linkTo(h.wavy.serveFile((_req, res) => res.writeHead(307, { location: target }).end()));

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(json.rows).toBe(1);
  });

  it("gives up after five redirect hops", async () => {
    const loop = h.wavy.serveFile(
      (_req, res) => res.writeHead(302, { location: loop }).end(),
      "loop",
    );
    h.wavy.linkTo(loop);

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({ error: { message: expect.stringContaining("redirected") } });
    expect(h.wavy.fileCalls()).toHaveLength(6);
  });

  it("answers 502 and leaves no object when the CSV host answers 404", async () => {
    h.wavy.linkTo(h.wavy.serveFile((_req, res) => res.writeHead(404).end()));

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    await expectNothingLeft(h);
  });

  it("aborts the multipart upload when the CSV host disconnects mid-body", async () => {
    linkToCsvThatDisconnectsOnceUploading(h, ROW);
    const abortedBefore = h.s3.abortedUploads.length;

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_ERROR" } });
    expect(h.s3.abortedUploads.length).toBe(abortedBefore + 1);
    await expectNothingLeft(h);
  });

  it("answers 502 when the CSV host closes before its declared Content-Length", async () => {
    h.wavy.linkTo(
      h.wavy.serveFile((_req, res) => {
        res.writeHead(200, { "content-length": "1000" });
        res.write(CSV);
        setTimeout(() => res.destroy(), 20);
      }),
    );

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    await expectNothingLeft(h);
  });

  it("answers 500 INTERNAL and leaves nothing when S3 refuses the upload", async () => {
    h.s3.injectFault((req) => (req.method === "PUT" ? 500 : undefined));

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    h.s3.clearFaults();
    await expectNothingLeft(h);
  });
});

describe("export failures under tight limits", () => {
  // A short budget and a 1 MiB cap, so hangs and oversized files fail fast.
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: "1500", MAX_CSV_BYTES: String(1024 * 1024) },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  it("answers 504 when Wavy never answers", async () => {
    h.wavy.replySession({ hang: true });
    const started = Date.now();

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(504);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("answers 504 and stores nothing when the CSV trickles slower than the budget", async () => {
    h.wavy.linkTo(
      h.wavy.serveFile((_req, res) => {
        res.writeHead(200);
        res.write("source;session_created_at\n");
        const timer = setInterval(() => res.write(ROW), 100);
        res.on("close", () => clearInterval(timer));
      }),
    );

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(504);
    expect(json).toMatchObject({
      error: {
        code: "UPSTREAM_TIMEOUT",
        message: expect.stringMatching(/retry with the header "Prefer: respond-async"/),
      },
    });
    await expectNothingLeft(h);
  });

  it("answers 504 and leaves nothing when S3 stops answering mid-export", async () => {
    h.s3.injectFault((req) => (req.method === "PUT" ? "hang" : undefined));
    const started = Date.now();

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(504);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(Date.now() - started).toBeLessThan(4000);
    h.s3.clearFaults();
    await expectNothingLeft(h);
  });

  it("answers 502 for a CSV past MAX_CSV_BYTES, declared or not", async () => {
    const big = ROW.repeat(Math.ceil((2 * 1024 * 1024) / ROW.length));
    h.wavy.linkTo(h.wavy.serveFile((_req, res) => res.writeHead(200).end(big)));
    const declared = await h.call("POST", "/exports", { customerId: "42" });
    h.wavy.linkTo(
      h.wavy.serveFile((_req, res) => {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        res.end(big);
      }),
    );
    const streamed = await h.call("POST", "/exports", { customerId: "42" });

    expect(declared.status).toBe(502);
    expect(streamed.status).toBe(502);
    expect(streamed.json).toMatchObject({ error: { message: expect.stringContaining("limit") } });
    await expectNothingLeft(h);
  });
});

describe("credentials from Secrets Manager", () => {
  const secrets = mockClient(SecretsManagerClient);
  let h: Harness;
  const secretValue = (userName: string, authenticationToken: string) => ({
    SecretString: JSON.stringify({ userName, authenticationToken }),
  });

  // A fresh harness per test: the credential cache would otherwise keep the last test's secret.
  beforeEach(async () => {
    h = await startHarness({
      wavy: {
        csvByTarget: { "42": CSV },
        userName: "rotated-user",
        authenticationToken: "rotated-token-xyz",
      },
      deps: {
        credentials: createCredentialCache(
          { kind: "secret", secretId: "wavy/credentials" },
          { client: new SecretsManagerClient({}) },
        ),
      },
    });
  });
  afterEach(async () => {
    secrets.reset();
    await h.close();
  });

  it("re-reads a rotated secret once after a 401 and succeeds", async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce(secretValue("old-user", "old-token"))
      .resolves(secretValue("rotated-user", "rotated-token-xyz"));

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(h.wavy.sessionCalls().map((c) => c.headers.authenticationtoken)).toEqual([
      "old-token",
      "rotated-token-xyz",
    ]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("answers 502 naming 401 when the refreshed secret is refused too, without leaking it", async () => {
    secrets.on(GetSecretValueCommand).resolves(secretValue("old-user", "old-token-secret"));
    const logs = vi.spyOn(console, "error");
    const warns = vi.spyOn(console, "warn");

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({
      error: { code: "UPSTREAM_ERROR", message: expect.stringContaining("401") },
    });
    expect(h.wavy.sessionCalls()).toHaveLength(2);
    const printed = JSON.stringify([json, logs.mock.calls, warns.mock.calls]);
    expect(printed).not.toContain("old-token-secret");
    expect(printed).not.toContain("old-user");
  });

  it.each([
    ["not JSON", { SecretString: "user:token-not-json" }],
    ["lacking the token", { SecretString: JSON.stringify({ userName: "only-user" }) }],
    ["empty", {}],
  ])(
    "answers 500 INTERNAL for a secret %s, logging why but not its value",
    async (_name, value) => {
      secrets.on(GetSecretValueCommand).resolves(value);
      const logs = vi.spyOn(console, "error");

      const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

      expect(status).toBe(500);
      expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
      expect(h.wavy.requests).toHaveLength(0);
      const printed = JSON.stringify(logs.mock.calls);
      expect(printed).toContain("malformed");
      expect(printed).not.toContain("token-not-json");
      expect(printed).not.toContain("only-user");
    },
  );

  it("answers 201 on the next request once the placeholder secret is filled in", async () => {
    // The stack creates the secret with empty values; a warm function must not keep them.
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce(secretValue("", ""))
      .resolves(secretValue("rotated-user", "rotated-token-xyz"));

    const before = await h.call("POST", "/exports", { customerId: "42" });
    const after = await h.call("POST", "/exports", { customerId: "42" });

    expect(before.status).toBe(500);
    expect(after.status).toBe(201);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("answers 500 INTERNAL when the secret does not exist", async () => {
    secrets.on(GetSecretValueCommand).rejects(
      Object.assign(new Error("Secrets Manager can't find the specified secret."), {
        name: "ResourceNotFoundException",
      }),
    );

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(500);
    expect(json).toMatchObject({ error: { code: "INTERNAL" } });
  });
});
