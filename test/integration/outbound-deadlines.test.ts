import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../lambdas/lib/contract.js";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 19, item 5: the asynchronous Lambda Invoke and the completion event's PutEvents run under
 * the request's deadline, so a Lambda or EventBridge endpoint that never answers cannot hold the
 * answer past REQUEST_BUDGET_MS + the clean-up grace, and a launch that failed leaves nothing.
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const ASYNC = { Prefer: "respond-async" };
/** What a loaded machine adds on top of budget + grace. */
const SLACK_MS = 700;

async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await call();
  return { result, ms: Date.now() - started };
}

describe.each([
  ["a short budget", 1_500],
  ["the budget's maximum", LIMITS.maxRequestBudgetMs],
])("outbound calls under %s", (_name, budgetMs) => {
  let h: Harness;
  const within = budgetMs + LIMITS.cleanupGraceMs + SLACK_MS;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      env: { REQUEST_BUDGET_MS: String(budgetMs) },
    });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    h.lambda.hangInvokes(false);
    h.eventBridge.hangPuts(false);
    await h.emptyBucket();
  });

  it(
    "answers an asynchronous export whose Lambda Invoke hangs within the budget, leaving nothing",
    async () => {
      h.lambda.hangInvokes(true);

      const { result, ms } = await timed(() =>
        h.call("POST", "/exports", { customerId: "42" }, { ...ASYNC, "Idempotency-Key": "hung" }),
      );

      expect(result.status).toBe(504);
      expect(result.json).toMatchObject({ error: { code: "UPSTREAM_TIMEOUT" } });
      expect(ms).toBeLessThan(within);
      // Settled as failed, then taken back: no manifest, entry or key survives the launch.
      expect(await h.objectKeys()).toEqual([]);
      const events = await h.eventBridge.waitFor(1);
      expect(events.at(-1)?.["detail-type"]).toBe("Export Failed");
    },
    budgetMs + 10_000,
  );

  it.skipIf(budgetMs > 5_000)(
    "answers a synchronous export within the budget when PutEvents hangs",
    async () => {
      h.eventBridge.hangPuts(true);

      const { result, ms } = await timed(() => h.call("POST", "/exports", { customerId: "42" }));

      expect(result.status).toBe(201);
      expect(ms).toBeLessThan(within);
    },
  );
});
