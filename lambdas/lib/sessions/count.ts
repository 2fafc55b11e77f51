import type { Readable } from "node:stream";
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Clock } from "../clock.js";
import { DIMENSION, METRIC } from "../contract.js";
import {
  createCsvScanner,
  type FieldVisitor,
  MalformedCsvError,
  type RowVisitor,
} from "../csv/scanner.js";
import { errorName, UpstreamError, WavyNotConfiguredError } from "../errors.js";
import { type SessionTarget, subAccountLabel } from "../ids.js";
import { createSessionTally, type SessionFigures, tallySessionCsv } from "./tally.js";

export interface CountDeps {
  /** The target's open-sessions CSV as bytes; rejects or errors mid-stream when Wavy fails. */
  openCsv: (target: SessionTarget) => Promise<Readable>;
  /**
   * A snapshot target (docs/contract.md, "Scheduled snapshots"): stores the CSV while handing each
   * row's session_created_at to the tally, so the figures and the stored copy come from one
   * download. Resolves to what was stored; openCsv is then not used.
   */
  storeCsv?: (
    target: SessionTarget,
    onTimestamp: FieldVisitor,
    onRow: RowVisitor | undefined,
  ) => Promise<object>;
  /**
   * Issue 21: sees each row's `source` and session_created_at in the same scan, on the count
   * path and the snapshot path alike (a SnapshotReconciler's onRow).
   */
  onRow?: RowVisitor;
  clock: Clock;
  /** Zone of offset-less timestamps (WAVY_TIMEZONE). */
  timeZone: string;
  metrics: Pick<Metrics, "addDimensions" | "addMetric">;
  logger: Pick<Logger, "info" | "warn" | "error">;
}

export interface SessionCountResult extends SessionFigures {
  customerId: string;
  subAccountId: string | null;
  /** ISO-8601 UTC: the clock reading the windows were measured from. */
  measuredAt: string;
  /** A snapshot target's stored export (its document without the download URL). */
  export?: object;
}

/** The count ran, but the Wavy secret still holds the stack's placeholder. */
export interface NotConfiguredResult {
  customerId: string;
  subAccountId: string | null;
  notConfigured: true;
  measuredAt: string;
}

/**
 * Reads the target's CSV once, streaming, and emits the open-session figures as metrics.
 * Any failure to read it (Wavy's answer, the download, a malformed CSV) emits
 * WavyRequestFailed instead of the figures and is rethrown, so the scheduler retries.
 */
export async function countOpenSessions(
  target: SessionTarget,
  deps: CountDeps,
): Promise<SessionCountResult | NotConfiguredResult> {
  const { metrics, logger } = deps;
  // Measured from when Wavy is asked: the snapshot it serves is of that moment.
  const now = deps.clock();
  metrics.addDimensions({
    [DIMENSION.customerId]: target.customerId,
    [DIMENSION.subAccountId]: subAccountLabel(target),
  });

  let reading: Awaited<ReturnType<typeof tallySessionCsv>>;
  let stored: object | undefined;
  try {
    if (deps.storeCsv) {
      const tally = createSessionTally({ now, timeZone: deps.timeZone });
      stored = await deps.storeCsv(target, tally.onTimestamp, deps.onRow);
      reading = { figures: tally.figures(), unparseableSample: tally.unparseableSample() };
    } else if (deps.onRow) {
      reading = await tallyWithRows(await deps.openCsv(target), now, deps.timeZone, deps.onRow);
    } else {
      const csv = await deps.openCsv(target);
      reading = await tallySessionCsv(csv, { now, timeZone: deps.timeZone });
    }
  } catch (error) {
    if (error instanceof WavyNotConfiguredError) return notConfigured(target, now, deps);
    metrics.addMetric(METRIC.wavyRequestFailed, MetricUnit.Count, 1);
    logger.error("Could not read the open-sessions CSV from Wavy", {
      customerId: target.customerId,
      subAccountId: target.subAccountId,
      errorName: errorName(error),
    });
    // As the export answers it: a CSV that is not CSV is Wavy's fault.
    throw error instanceof MalformedCsvError
      ? new UpstreamError("Wavy's CSV could not be read as CSV", { cause: error })
      : error;
  }

  const { figures, unparseableSample } = reading;
  if (figures.unparseableTimestamps > 0) {
    // Once per invocation, with one cut-short timestamp: never a row, never a phone number.
    logger.warn("Unreadable session_created_at values, counted as open and in no window", {
      unparseableTimestamps: figures.unparseableTimestamps,
      sample: unparseableSample,
    });
  }
  metrics.addMetric(METRIC.openSessions, MetricUnit.Count, figures.openSessions);
  metrics.addMetric(METRIC.expiringWithin1h, MetricUnit.Count, figures.expiringWithin1h);
  metrics.addMetric(METRIC.expiringWithin4h, MetricUnit.Count, figures.expiringWithin4h);
  metrics.addMetric(METRIC.unparseableTimestamps, MetricUnit.Count, figures.unparseableTimestamps);

  const result: SessionCountResult = {
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    ...figures,
    measuredAt: now.toISOString(),
  };
  logger.info("Counted open sessions", { ...result });
  return stored === undefined ? result : { ...result, export: stored };
}

/**
 * The tally and a row visitor over one scan: the scanner hands a row to onRow only (onRow wins),
 * so the tally's timestamp is fed from here.
 */
async function tallyWithRows(
  source: AsyncIterable<Uint8Array>,
  now: Date,
  timeZone: string,
  onRow: RowVisitor,
): Promise<{ figures: SessionFigures; unparseableSample: string | undefined }> {
  const tally = createSessionTally({ now, timeZone });
  const scanner = createCsvScanner({
    onRow: (bytes, sourceStart, sourceEnd, createdStart, createdEnd) => {
      tally.onTimestamp(bytes, createdStart, createdEnd);
      onRow(bytes, sourceStart, sourceEnd, createdStart, createdEnd);
    },
  });
  for await (const chunk of source) scanner.write(chunk);
  scanner.finish();
  return { figures: tally.figures(), unparseableSample: tally.unparseableSample() };
}

/**
 * A fresh deploy before the operator has put the credentials in: not Wavy's failure, so no
 * WavyRequestFailed and no throw (no retries, no dead letter, no alarm e-mail). NotConfigured
 * tells the dashboard and the NoCount alarms that the counter did run.
 */
function notConfigured(
  target: SessionTarget,
  now: Date,
  deps: Pick<CountDeps, "metrics" | "logger">,
): NotConfiguredResult {
  deps.metrics.addMetric(METRIC.notConfigured, MetricUnit.Count, 1);
  deps.logger.warn(
    "The Wavy secret still holds the stack's placeholder: nothing counted. Put the Wavy credentials in it (docs/deploying.md)",
    { customerId: target.customerId, subAccountId: target.subAccountId },
  );
  return {
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    notConfigured: true,
    measuredAt: now.toISOString(),
  };
}
