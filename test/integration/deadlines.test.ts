import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { UpstreamTimeoutError } from "../../lambdas/lib/errors.js";
import { createCredentialCache } from "../../lambdas/lib/wavy/credentials.js";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 11, item 2: every call an export or a count makes, to Secrets Manager and to S3 alike,
 * is abandoned when the request's deadline fires, so a hung service yields the contract's 5xx
 * within the budget instead of holding the request until API Gateway (or the Lambda timeout)
 * gives up. Clean-up after a failure runs under a short grace of its own.
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const BUDGET_MS = 1500;
/** Budget, clean-up grace and a margin for a loaded machine; the hangs below are unbounded. */
const ANSWER_WITHIN_MS = BUDGET_MS + 1500;

/** An HTTP server that takes every request and never answers: a hung AWS endpoint. */
async function startHungServer(): Promise<{
  url: string;
  hits: () => number;
  stop: () => Promise<void>;
}> {
  let hits = 0;
  const server: Server = createServer((req: IncomingMessage) => {
    hits++;
    req.resume();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const onPath = (method: string, prefix: string) => (req: IncomingMessage) =>
  req.method === method && new URL(req.url ?? "/", "http://s3").pathname.includes(prefix)
    ? ("hang" as const)
    : undefined;

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await run();
  return { result, ms: Date.now() - started };
}

describe("a hung Secrets Manager", () => {
  let hung: Awaited<ReturnType<typeof startHungServer>>;
  let h: Harness;

  beforeAll(async () => {
    hung = await startHungServer();
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: String(BUDGET_MS) },
      deps: {
        credentials: createCredentialCache(
          { kind: "secret", secretId: "wavy/credentials" },
          {
            client: new SecretsManagerClient({
              endpoint: hung.url,
              region: "us-east-1",
              credentials: { accessKeyId: "test", secretAccessKey: "test" },
            }),
          },
        ),
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await hung.stop();
  });

  it("answers the export 504 within the budget, without calling Wavy", async () => {
    const { result, ms } = await timed(() => h.call("POST", "/exports", { customerId: "42" }));

    expect(result.status).toBe(504);
    expect(result.json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(hung.hits()).toBeGreaterThan(0);
    expect(h.wavy.requests).toHaveLength(0);
  });
});

describe("the counter with a hung Secrets Manager", () => {
  let hung: Awaited<ReturnType<typeof startHungServer>>;
  let counter: (event: unknown, context: Context) => Promise<unknown>;

  beforeAll(async () => {
    hung = await startHungServer();
    // The handler reads its environment on first use, as in Lambda.
    Object.assign(process.env, {
      WAVY_SECRET_ID: "wavy/credentials",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: hung.url,
      WAVY_API_URL: "http://127.0.0.1:9",
      WAVY_DOWNLOAD_ORIGINS: "http://127.0.0.1:9",
    });
    counter = (await import("../../lambdas/count-sessions/handler.js")).handler;
  });
  afterAll(async () => {
    delete process.env.WAVY_SECRET_ID;
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    await hung.stop();
  });

  it("fails before its Lambda timeout, on a deadline taken from the context", async () => {
    // 4.5 s left: the handler keeps 3 s back, so its own deadline is 1.5 s away.
    const context = lambdaContext("count-sessions", 4_500);

    const { result, ms } = await timed(() =>
      counter({ customerId: "42" }, context).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );

    expect(result).toBeInstanceOf(UpstreamTimeoutError);
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(hung.hits()).toBeGreaterThan(0);
  });
});

describe("a hung S3", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: String(BUDGET_MS) },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.s3.clearFaults();
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  it("answers 504 within the budget when the manifest write hangs, leaving no CSV", async () => {
    h.s3.injectFault(onPath("PUT", "/manifests/"));

    const { result, ms } = await timed(() => h.call("POST", "/exports", { customerId: "42" }));

    expect(result.status).toBe(504);
    expect(result.json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    h.s3.clearFaults();
    expect(await h.objectKeys("exports/")).toEqual([]);
  });

  it("answers GET /exports/{id} 504 within the budget when the manifest read hangs", async () => {
    const created = await h.call("POST", "/exports", { customerId: "42" });
    expect(created.status).toBe(201);
    h.s3.injectFault(onPath("GET", "/manifests/"));

    const { result, ms } = await timed(() =>
      h.call("GET", `/exports/${String(created.json.exportId)}`),
    );

    expect(result.status).toBe(504);
    expect(result.json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it.each([
    ["read", "GET"],
    ["claim", "PUT"],
  ])("answers 504 within the budget when the Idempotency-Key %s hangs", async (_what, method) => {
    h.s3.injectFault(onPath(method, "/idempotency/"));

    const { result, ms } = await timed(() =>
      h.call("POST", "/exports", { customerId: "42" }, { "Idempotency-Key": `hung-${method}` }),
    );

    expect(result.status).toBe(504);
    expect(result.json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(h.wavy.requests).toHaveLength(0);
  });

  it("answers a failed export at once when releasing its Idempotency-Key hangs", async () => {
    h.wavy.replySession({ status: 400, body: "{}" });
    h.s3.injectFault(onPath("DELETE", "/idempotency/"));

    const { result, ms } = await timed(() =>
      h.call("POST", "/exports", { customerId: "42" }, { "Idempotency-Key": "hung-release" }),
    );

    expect(result.status).toBe(502);
    // The release runs under the clean-up grace (500 ms), not until S3 answers.
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it("answers at once when aborting the multipart upload of a failed transfer hangs", async () => {
    // Long rows: a part's worth of them in few records, so that scanning them and writing their
    // companion does not eat the budget on a loaded machine before the upload opens.
    const row = `${"5511987654321".repeat(60)};2026-11-28 09:15:42\n`;
    const part = Buffer.from(row.repeat(Math.ceil((6 * 1024 * 1024) / row.length)));
    h.wavy.linkTo(
      h.wavy.serveFile((_req, res) => {
        res.writeHead(200, { "content-length": String(part.length * 2) });
        res.write(part);
        // Cut off once the upload is open, so there is one to abort.
        const timer = setInterval(() => {
          if (h.s3.openUploads.size > 0) {
            clearInterval(timer);
            res.destroy();
          }
        }, 5);
      }),
    );
    h.s3.injectFault((req) =>
      req.method === "DELETE" && (req.url ?? "").includes("uploadId") ? "hang" : undefined,
    );

    const { result, ms } = await timed(() => h.call("POST", "/exports", { customerId: "42" }));

    expect(result.status).toBe(502);
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    h.s3.openUploads.clear();
  });
});
