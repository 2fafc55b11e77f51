import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it } from "vitest";
import { EXPORT_METRIC } from "../../../../lambdas/lib/contract.js";
import type {
  FailedManifest,
  SucceededManifest,
} from "../../../../lambdas/lib/exports/export-document.js";
import type { CompletionEvents } from "../../../../lambdas/lib/exports/ports.js";
import { withExportMetrics } from "../../../../lambdas/lib/exports-aws/export-metrics.js";
import { emfDocuments, spyOnConsoleLog } from "../../../support/counter.js";

// Dev mode (test/support/setup.ts) turns metrics off unless this says otherwise.
process.env.POWERTOOLS_METRICS_DISABLED = "false";

const BASE = {
  exportId: "20261206T120000Z-0123456789abcdef",
  trigger: "request",
  customerId: "42",
  subAccountId: null,
  bucket: "b",
  key: "exports/customerId=42/subAccountId=all/date=2026-12-06/20261206T120000Z-0123456789abcdef.csv",
  createdAt: "2026-12-06T12:00:00.000Z",
} as const;

const SUCCEEDED = {
  ...BASE,
  status: "succeeded",
  rows: 240,
  bytes: 8186,
  sha256: "0".repeat(64),
  sessionsKey: null,
  completedAt: "2026-12-06T12:00:01.500Z",
} as unknown as SucceededManifest;

const FAILED = {
  ...BASE,
  status: "failed",
  error: { code: "UPSTREAM_TIMEOUT", message: "Wavy did not answer" },
  completedAt: "2026-12-06T12:00:25.000Z",
} as unknown as FailedManifest;

describe("the exports' own metrics (issue 22)", () => {
  let spy = spyOnConsoleLog();
  afterEach(() => spy.mockRestore());

  const run = async (ended: SucceededManifest | FailedManifest) => {
    spy = spyOnConsoleLog();
    const put: unknown[] = [];
    const events: CompletionEvents = { put: async (document) => void put.push(document) };
    const metrics = new Metrics({ namespace: "WavySessions", serviceName: "wavy-sessions-export" });
    await withExportMetrics(events, metrics).put(ended, AbortSignal.timeout(1000));
    const figures = emfDocuments(spy).flatMap((document) =>
      document._aws.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.map((metric) => ({
          name: metric.Name,
          unit: metric.Unit,
          value: document[metric.Name],
          dimensions: directive.Dimensions.flat().sort(),
          errorCode: document.ErrorCode,
        })),
      ),
    );
    return { put, figures };
  };

  it("counts a succeeded export with its duration, bytes and rows, then puts its event", async () => {
    const { put, figures } = await run(SUCCEEDED);
    expect(put).toEqual([SUCCEEDED]);
    expect(figures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: EXPORT_METRIC.succeeded, value: 1, unit: "Count" }),
        expect.objectContaining({
          name: EXPORT_METRIC.durationMs,
          value: 1500,
          unit: "Milliseconds",
        }),
        expect.objectContaining({ name: EXPORT_METRIC.bytes, value: 8186, unit: "Bytes" }),
        expect.objectContaining({ name: EXPORT_METRIC.rows, value: 240, unit: "Count" }),
      ]),
    );
    // No target and no number in any dimension: service only.
    for (const figure of figures) expect(figure.dimensions).toEqual(["service"]);
    expect(figures.some((figure) => figure.name === EXPORT_METRIC.failed)).toBe(false);
  });

  it("counts a failed export in total and by its error code", async () => {
    const { put, figures } = await run(FAILED);
    expect(put).toEqual([FAILED]);
    expect(figures).toContainEqual(
      expect.objectContaining({ name: EXPORT_METRIC.failed, value: 1, dimensions: ["service"] }),
    );
    expect(figures).toContainEqual(
      expect.objectContaining({
        name: EXPORT_METRIC.failedByCode,
        value: 1,
        dimensions: ["ErrorCode", "service"],
        errorCode: "UPSTREAM_TIMEOUT",
      }),
    );
    expect(figures.some((figure) => figure.name === EXPORT_METRIC.succeeded)).toBe(false);
  });

  it("never counts a running export: only an end is a figure", async () => {
    const running = { ...BASE, status: "running", deadlineAt: "2026-12-06T12:15:00.000Z" };
    const { figures } = await run(running as unknown as FailedManifest);
    expect(figures).toEqual([]);
  });
});
