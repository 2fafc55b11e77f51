import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { UpstreamError } from "../../lambdas/lib/errors.js";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 11, item 1: a CSV host that never ends a line must not grow memory. The real handlers
 * (export over HTTP, counter as Lambda would call it) read a 400 MB single line, streamed by the
 * Wavy simulator, in the same process as a plain 1 MiB export; the line's peak RSS growth must
 * stay near the plain export's. The bound is generous on purpose (this is not a timing test):
 * before the cap the line took ~980 MiB (export) and ~580 MiB (counter).
 */

const HEADER = "source;session_created_at\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";
const MiB = 1024 * 1024;
const ONE_MIB_CSV = HEADER + ROW.repeat(Math.ceil(MiB / ROW.length));
const LINE_BYTES = 400 * 1000 * 1000;
/** How much more than the plain export a long line may add to peak RSS. */
const SLACK_BYTES = 64 * MiB;

interface Endless {
  url: string;
  /** Bytes the host managed to hand to the socket before the reader stopped it. */
  sent(): number;
}

/** Serves `head`, then `filler` until `total` bytes, pacing itself on the socket's backpressure. */
function serveLine(h: Harness, head: string, filler: string, total = LINE_BYTES): Endless {
  const piece = Buffer.from(filler.repeat(Math.ceil(65_536 / filler.length)).slice(0, 65_536));
  let sent = 0;
  const url = h.wavy.serveFile((_req, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/csv", "content-length": String(total) });
    const closed = once(res, "close");
    void (async () => {
      res.write(head);
      sent = head.length;
      while (sent < total && !res.destroyed) {
        const bytes = piece.subarray(0, Math.min(piece.length, total - sent));
        sent += bytes.length;
        if (!res.write(bytes)) await Promise.race([once(res, "drain"), closed]);
      }
      res.end();
    })();
  });
  return { url, sent: () => sent };
}

/** Peak RSS growth while `run` runs, sampled every 5 ms. */
async function peakGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

const LONG_LINES = [
  ["a data row that never ends", HEADER + ROW, "5"],
  ["a header that never ends", "", "source;"],
  ["an open quote", `${HEADER}"`, "5511;"],
] as const;

describe("a line that never ends, against a 1 MiB export in the same process", () => {
  let h: Harness;
  let counter: (event: unknown, context: Context) => Promise<unknown>;
  let exportGrowth = 0;
  let countGrowth = 0;

  beforeAll(async () => {
    // setup.ts silences the console per test; the warm-up below runs before any test.
    const quiet = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(() => {}),
    );
    h = await startHarness({ env: { REQUEST_BUDGET_MS: "20000" } });
    // The counter reads its environment on first use, as in Lambda.
    Object.assign(process.env, {
      WAVY_USER_NAME: h.wavy.credentials.userName,
      WAVY_AUTH_TOKEN: h.wavy.credentials.authenticationToken,
      WAVY_API_URL: h.wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: h.wavy.baseUrl,
    });
    counter = (await import("../../lambdas/count-sessions/handler.js")).handler;

    // Warm both paths once, so the baselines measure a transfer, not first-use allocations.
    for (let round = 0; round < 2; round++) {
      h.wavy.csvByTarget.set("42", ONE_MIB_CSV);
      const exported = await peakGrowth(() => h.call("POST", "/exports", { customerId: "42" }));
      expect(exported.result.status).toBe(201);
      expect(exported.result.json.bytes).toBe(ONE_MIB_CSV.length);
      exportGrowth = exported.growth;
      const counted = await peakGrowth(() =>
        counter({ customerId: "42" }, lambdaContext("count-sessions", 25_000)),
      );
      expect(counted.result).toMatchObject({ openSessions: ONE_MIB_CSV.split("\n").length - 2 });
      countGrowth = counted.growth;
    }
    await h.emptyBucket();
    for (const spy of quiet) spy.mockRestore();
  });
  afterAll(() => h.close());

  it.each(LONG_LINES)("the export answers 502 for %s, memory flat", async (_name, head, fill) => {
    const line = serveLine(h, head, fill);
    h.wavy.linkTo(line.url);

    const { result, growth } = await peakGrowth(() =>
      h.call("POST", "/exports", { customerId: "42" }),
    );

    expect(result.status).toBe(502);
    expect(result.json).toMatchObject({
      error: { code: "UPSTREAM_ERROR", message: expect.stringMatching(/read as CSV/) },
    });
    expect(growth).toBeLessThan(exportGrowth + SLACK_BYTES);
    // The transfer stopped near the cap instead of running to the end of the line.
    expect(line.sent()).toBeLessThan(32 * MiB);
    expect(await h.objectKeys("exports/")).toEqual([]);
    expect(await h.objectKeys("manifests/")).toEqual([]);
    expect([...h.s3.openUploads.keys()]).toEqual([]);
  });

  it.each(LONG_LINES)(
    "the counter fails on %s like on any unreadable CSV",
    async (_n, head, fill) => {
      const line = serveLine(h, head, fill);
      h.wavy.linkTo(line.url);

      const outcome = await peakGrowth(() =>
        counter({ customerId: "42" }, lambdaContext("count-sessions", 25_000)).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );

      expect(outcome.result).toBeInstanceOf(UpstreamError);
      expect((outcome.result as Error).message).toMatch(/read as CSV/);
      expect(outcome.growth).toBeLessThan(countGrowth + SLACK_BYTES);
      expect(line.sent()).toBeLessThan(32 * MiB);
    },
  );
});
