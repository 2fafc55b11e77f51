import { once } from "node:events";
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { localS3ClientConfig } from "../../dev/local-s3.js";
import { S3_PREFIX } from "../../lambdas/lib/contract.js";
import { type Harness, sha256, startHarness } from "../support/export-harness.js";

/**
 * The faults export-failures.test.ts does not already cover, one row each: what breaks, what the
 * caller must get (the contract's status and code), how many upstream attempts and how much time
 * that may take, and that S3 is left as it was (no export, no manifest, no open multipart upload).
 */

const HEADER = "source;session_created_at\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";
/** Past two 8 MiB parts, so a multipart upload is open when the fault strikes. */
const BIG_CSV = HEADER + ROW.repeat(Math.ceil((17 * 1024 * 1024) / ROW.length));
const MAX_CSV_BYTES = 24 * 1024 * 1024;

interface Context {
  h: Harness;
  /** Scripts the Wavy API front (see startWavyFront). */
  front: WavyFront;
  /** Every UploadPart the S3 front saw, as part numbers. */
  partAttempts: number[];
  /** Set by a row when the CSV host's connection closed. */
  csvClosedAt?: number;
}

interface FaultRow {
  name: string;
  arrange: (ctx: Context) => void | Promise<void>;
  status: number;
  code?: string;
  message?: RegExp;
  /** Upper bound on the request's wall time. */
  maxMs: number;
  /** Extra checks after the common ones. */
  assess?: (ctx: Context, answer: Record<string, unknown>, elapsedMs: number) => void;
  /** Successful rows: the stored object must be this CSV byte for byte. */
  stores?: string;
}

async function expectNothingLeft(ctx: Context): Promise<void> {
  expect(await ctx.h.objectKeys("exports/")).toEqual([]);
  expect(await ctx.h.objectKeys("manifests/")).toEqual([]);
  expect(await ctx.h.objectKeys("sessions/")).toEqual([]);
  expect(await ctx.h.objectKeys("closing/")).toEqual([]);
  expect([...ctx.h.s3.openUploads.keys()]).toEqual([]);
}

async function runRow(row: FaultRow, ctx: Context): Promise<void> {
  await row.arrange(ctx);
  const started = Date.now();
  const { status, json } = await ctx.h.call("POST", "/exports", { customerId: "42" });
  const elapsed = Date.now() - started;

  expect(status, JSON.stringify(json)).toBe(row.status);
  expect(elapsed).toBeLessThan(row.maxMs);
  if (row.stores !== undefined) {
    const stored = await ctx.h.readObject(String(json.key));
    expect(stored.length).toBe(Buffer.byteLength(row.stores));
    expect(sha256(stored)).toBe(sha256(row.stores));
    expect(json.sha256).toBe(sha256(row.stores));
    expect([...ctx.h.s3.openUploads.keys()]).toEqual([]);
  } else {
    expect(Object.keys(json)).toEqual(["error"]);
    expect(json.error).toMatchObject({ code: row.code, message: expect.any(String) });
    if (row.message)
      expect(String((json.error as { message: string }).message)).toMatch(row.message);
    await expectNothingLeft(ctx);
  }
  row.assess?.(ctx, json, elapsed);
}

/** A file handler that notes when the CSV host's side of the connection closed. */
function tracked(
  ctx: Context,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.on("close", () => {
      ctx.csvClosedAt = Date.now();
    });
    serve(req, res);
  };
}

/** Drops the connection of every UploadPart (all parts, or one part number) after its first bytes. */
function dropUploadParts(ctx: Context, options: { part?: number; times?: number } = {}): void {
  let left = options.times ?? Number.POSITIVE_INFINITY;
  ctx.h.s3.injectFault((req) => {
    const part = partNumber(req);
    if (part === undefined || (options.part !== undefined && part !== options.part)) return;
    if (left <= 0) return;
    left -= 1;
    req.once("data", () => req.socket.destroy());
    return undefined;
  });
}

function failUploadParts(ctx: Context, status: number, options: { part: number; times?: number }) {
  let left = options.times ?? Number.POSITIVE_INFINITY;
  ctx.h.s3.injectFault((req) => {
    if (partNumber(req) !== options.part || left <= 0) return undefined;
    left -= 1;
    return status;
  });
}

/**
 * The part number of an UploadPart of the CSV (under exports/), else undefined: the Parquet
 * companion beside it is a multipart upload of its own once it passes one part.
 */
function partNumber(req: IncomingMessage): number | undefined {
  if (req.method !== "PUT") return undefined;
  const url = new URL(req.url ?? "/", "http://s3");
  if (!url.pathname.includes(`/${S3_PREFIX.exports}`)) return undefined;
  const value = url.searchParams.get("partNumber");
  return value === null ? undefined : Number(value);
}

const MAIN_ROWS: FaultRow[] = [
  {
    name: "a gzip CSV whose host disconnects mid-body",
    arrange: (ctx) => {
      const gz = gzipSync(BIG_CSV);
      ctx.h.wavy.linkTo(
        ctx.h.wavy.serveFile((_req, res) => {
          res.writeHead(200, { "content-encoding": "gzip", "transfer-encoding": "chunked" });
          res.write(gz.subarray(0, Math.floor(gz.length / 2)));
          setTimeout(() => res.destroy(), 50);
        }),
      );
    },
    // Before the fix the decoder never heard of the drop and the request ran into the budget (504).
    status: 502,
    code: "UPSTREAM_ERROR",
    maxMs: 4000,
  },
  {
    name: "the CSV cannot be read as CSV (an unterminated quote)",
    arrange: (ctx) => {
      ctx.h.wavy.csvByTarget.set("42", `${HEADER}"5511987654321;2026-11-28 09:15:42\n`);
    },
    // The row count is settled before the upload completes, so nothing is stored without figures.
    status: 502,
    code: "UPSTREAM_ERROR",
    message: /read as CSV/,
    maxMs: 3000,
  },
  {
    name: "the CSV host resets the connection before any header",
    arrange: (ctx) => {
      ctx.h.wavy.linkTo(ctx.h.wavy.serveFile((req) => req.socket.destroy()));
    },
    status: 502,
    code: "UPSTREAM_ERROR",
    maxMs: 3000,
    // Not retried on a fresh connection; on a connection an earlier row left pooled, retried
    // once on a fresh one (a stale keep-alive socket), which resets too.
    assess: (ctx) => {
      const calls = ctx.h.wavy.fileCalls().map((call) => call.reusedConnection);
      expect(calls).toEqual(calls[0] ? [true, false] : [false]);
    },
  },
  {
    name: "Wavy drops the connection before answering, every time",
    arrange: (ctx) => ctx.front.script("destroy", "destroy", "destroy", "destroy"),
    status: 502,
    code: "UPSTREAM_ERROR",
    message: /could not be reached after retries/,
    maxMs: 3000,
    assess: (ctx) => expect(ctx.front.calls).toBe(3),
  },
  {
    name: "Wavy disconnects mid-answer, every time",
    arrange: (ctx) => ctx.front.script("cut", "cut", "cut", "cut"),
    status: 502,
    code: "UPSTREAM_ERROR",
    maxMs: 3000,
    assess: (ctx) => {
      expect(ctx.front.calls).toBe(3);
      expect(ctx.h.wavy.fileCalls()).toHaveLength(0);
    },
  },
  {
    name: "Wavy disconnects mid-answer once, then answers",
    arrange: (ctx) => ctx.front.script("cut"),
    status: 201,
    maxMs: 3000,
    stores: HEADER,
    assess: (ctx) => expect(ctx.front.calls).toBe(2),
  },
  {
    name: "S3 drops the connection during one UploadPart, once",
    arrange: (ctx) => {
      ctx.h.wavy.csvByTarget.set("42", BIG_CSV);
      dropUploadParts(ctx, { part: 1, times: 1 });
    },
    // The SDK retries the part; the object is whole and the figures are of what was stored.
    status: 201,
    maxMs: 8000,
    stores: BIG_CSV,
    assess: (ctx) => expect(ctx.partAttempts.filter((part) => part === 1)).toHaveLength(2),
  },
  {
    name: "S3 dies mid-upload: every UploadPart connection is dropped",
    arrange: (ctx) => {
      ctx.h.wavy.csvByTarget.set("42", BIG_CSV);
      dropUploadParts(ctx);
    },
    status: 500,
    code: "INTERNAL",
    message: /^Internal error$/,
    maxMs: 8000,
    assess: (ctx) => {
      // Bounded: the SDK's three attempts per part, for the parts in flight (queueSize 3).
      expect(ctx.partAttempts.length).toBeGreaterThanOrEqual(3);
      expect(ctx.partAttempts.length).toBeLessThanOrEqual(4 * 3);
      expect(ctx.h.s3.abortedUploads.length).toBeGreaterThan(0);
    },
  },
  {
    name: "S3 answers 500 to one part once",
    arrange: (ctx) => {
      ctx.h.wavy.csvByTarget.set("42", BIG_CSV);
      failUploadParts(ctx, 500, { part: 2, times: 1 });
    },
    status: 201,
    maxMs: 8000,
    stores: BIG_CSV,
    assess: (ctx) => expect(ctx.partAttempts.filter((part) => part === 2)).toHaveLength(2),
  },
  {
    name: "S3 answers 500 to one part every time",
    arrange: (ctx) => {
      ctx.h.wavy.csvByTarget.set("42", BIG_CSV);
      failUploadParts(ctx, 500, { part: 2 });
    },
    status: 500,
    code: "INTERNAL",
    message: /^Internal error$/,
    maxMs: 8000,
    assess: (ctx) => {
      expect(ctx.partAttempts.filter((part) => part === 2)).toHaveLength(3);
      expect(ctx.h.s3.abortedUploads.length).toBeGreaterThan(0);
    },
  },
  {
    name: "S3 refuses the manifest after the CSV was stored",
    arrange: (ctx) => {
      ctx.h.s3.injectFault((req) =>
        req.method === "PUT" && (req.url ?? "").includes("/manifests/") ? 503 : undefined,
      );
    },
    // The CSV is taken back: without its manifest nobody could find it through the API.
    status: 500,
    code: "INTERNAL",
    maxMs: 5000,
  },
  {
    name: "S3 refuses the normalised companion (issue 19: not on the request path)",
    arrange: (ctx) => {
      ctx.h.s3.injectFault((req) =>
        req.method === "PUT" && (req.url ?? "").includes("/sessions/") ? 503 : undefined,
      );
    },
    // The companion is built after the export, by its own function (which fails and retries):
    // the caller's export neither waits for it nor fails with it.
    status: 201,
    maxMs: 5000,
    stores: HEADER,
  },
];

/** The harness behind a scriptable Wavy front, for one describe block. */
function useFaultStack(ctx: Context, maxCsvBytes: number): void {
  beforeAll(async () => {
    ctx.front = await startWavyFront();
    ctx.h = await startHarness({
      wavy: { csvByTarget: { "42": HEADER } },
      env: {
        WAVY_API_URL: ctx.front.url,
        REQUEST_BUDGET_MS: "10000",
        MAX_CSV_BYTES: String(maxCsvBytes),
      },
    });
    ctx.front.target = ctx.h.wavy.baseUrl;
  });
  afterAll(async () => {
    await ctx.h.close();
    await ctx.front.close();
  });
}

describe("fault matrix", () => {
  const ctx = { partAttempts: [] as number[] } as Context;

  useFaultStack(ctx, MAX_CSV_BYTES);
  beforeEach(() => {
    ctx.h.s3.injectFault((req) => {
      const part = partNumber(req);
      if (part !== undefined) ctx.partAttempts.push(part);
      return undefined;
    });
  });
  afterEach(async () => {
    ctx.h.s3.clearFaults();
    ctx.h.wavy.requests.length = 0;
    ctx.h.wavy.csvByTarget.set("42", HEADER);
    ctx.front.reset();
    ctx.partAttempts.length = 0;
    ctx.csvClosedAt = undefined;
    await ctx.h.emptyBucket();
  });

  it.each(MAIN_ROWS.map((row) => [row.name, row] as const))("%s", async (_name, row) => {
    await runRow(row, ctx);
  });
});

describe("fault matrix with a 9 MiB cap", () => {
  // Just past one 8 MiB part, so the multipart upload is open when the cap is hit.
  const BOMB_CAP = 9 * 1024 * 1024;
  const ctx = { partAttempts: [] as number[] } as Context;
  const row: FaultRow = {
    name: "the CSV is a gzip bomb: Content-Encoding gzip expanding past MAX_CSV_BYTES",
    arrange: (ctx) => {
      // 200 MiB of rows in ~0.6 MiB (gzip members concatenated decode as one stream): the cap
      // must count the decoded bytes, not the wire bytes.
      const member = gzipSync(HEADER + ROW.repeat(Math.ceil((1024 * 1024) / ROW.length)));
      const bomb = Buffer.concat(Array.from({ length: 200 }, () => member));
      expect(bomb.length).toBeLessThan(BOMB_CAP / 10);
      ctx.h.wavy.linkTo(
        ctx.h.wavy.serveFile(
          tracked(ctx, (_req, res) => {
            res.writeHead(200, { "content-encoding": "gzip", "content-length": bomb.length });
            res.end(bomb);
          }),
        ),
      );
    },
    status: 502,
    code: "UPSTREAM_ERROR",
    message: /limit/,
    maxMs: 6000,
    assess: (ctx) => {
      expect(ctx.h.s3.abortedUploads.length).toBeGreaterThan(0);
      expect(ctx.csvClosedAt).toBeDefined();
    },
  };

  useFaultStack(ctx, BOMB_CAP);

  it(row.name, async () => {
    await runRow(row, ctx);
  });
});

describe("fault matrix under a tight budget", () => {
  const ctx = { partAttempts: [] as number[] } as Context;

  beforeAll(async () => {
    ctx.front = await startWavyFront();
    ctx.h = await startHarness({
      wavy: { csvByTarget: { "42": HEADER } },
      env: { WAVY_API_URL: ctx.front.url, REQUEST_BUDGET_MS: "1500" },
    });
    ctx.front.target = ctx.h.wavy.baseUrl;
  });
  afterAll(async () => {
    await ctx.h.close();
    await ctx.front.close();
  });

  it("the CSV host never answers (hangs before headers): 504, one attempt, nothing stored", async () => {
    await runRow(
      {
        name: "hang",
        arrange: () => {
          ctx.h.wavy.linkTo(ctx.h.wavy.serveFile(tracked(ctx, () => {})));
        },
        status: 504,
        code: "UPSTREAM_TIMEOUT",
        maxMs: 3500,
        assess: (_ctx, _json, elapsed) => {
          expect(elapsed).toBeGreaterThanOrEqual(1400);
          expect(ctx.h.wavy.fileCalls()).toHaveLength(1);
        },
      },
      ctx,
    );
    // The hanging connection is not left open after the answer.
    await expect.poll(() => ctx.csvClosedAt, { timeout: 2000 }).toBeDefined();
  });
});

describe("fault matrix with S3 down from the start", () => {
  const ctx = { partAttempts: [] as number[] } as Context;
  let deadS3: S3Client;

  beforeAll(async () => {
    ctx.front = await startWavyFront();
    deadS3 = new S3Client(localS3ClientConfig(`http://127.0.0.1:${await closedPort()}`));
    ctx.h = await startHarness({
      wavy: { csvByTarget: { "42": HEADER + ROW } },
      env: { WAVY_API_URL: ctx.front.url, REQUEST_BUDGET_MS: "10000" },
      deps: { s3: deadS3 },
    });
    ctx.front.target = ctx.h.wavy.baseUrl;
  });
  afterAll(async () => {
    await ctx.h.close();
    await ctx.front.close();
    deadS3.destroy();
  });

  // The one lifecycle records the export before calling Wavy (issue 19): with S3 down nothing is
  // downloaded at all, so no CSV connection can be left open.
  it("S3's endpoint refuses connections: 500 INTERNAL, bounded, the CSV never fetched", async () => {
    await runRow(
      {
        name: "s3 down",
        arrange: () => {
          ctx.h.wavy.linkTo(
            ctx.h.wavy.serveFile(tracked(ctx, (_req, res) => res.writeHead(200).end(HEADER + ROW))),
          );
        },
        status: 500,
        code: "INTERNAL",
        message: /^Internal error$/,
        maxMs: 5000,
        assess: () => expect(ctx.front.calls).toBe(0),
      },
      ctx,
    );
    expect(ctx.h.wavy.requests).toHaveLength(0);
  });
});

// --- support -------------------------------------------------------------------------------

type FrontStep = "destroy" | "cut";

interface WavyFront {
  url: string;
  target: string;
  calls: number;
  script(...steps: FrontStep[]): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A loopback front for the Wavy simulator's API: it forwards /v1/session, unless scripted to
 * drop the connection before answering or halfway through the answer.
 */
async function startWavyFront(): Promise<WavyFront> {
  const steps: FrontStep[] = [];
  const front: WavyFront = {
    url: "",
    target: "",
    calls: 0,
    script: (...next) => steps.push(...next),
    reset: () => {
      steps.length = 0;
      front.calls = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((req, res) => {
    front.calls += 1;
    const step = steps.shift();
    if (step === "destroy") return void req.socket.destroy();
    if (step === "cut") {
      res.writeHead(200, { "content-type": "application/json", "content-length": "120" });
      res.write('{"file_url": "http://127.0.0.1');
      setTimeout(() => res.destroy(), 20);
      return;
    }
    const target = new URL(front.target);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return front;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
