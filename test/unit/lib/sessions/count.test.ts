import type { Readable } from "node:stream";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it, vi } from "vitest";
import { UpstreamError, WavyNotConfiguredError } from "../../../../lambdas/lib/errors.js";
import type { SessionTarget } from "../../../../lambdas/lib/ids.js";
import {
  type CountDeps,
  countOpenSessions,
  type SessionCountResult,
} from "../../../../lambdas/lib/sessions/count.js";
import {
  csvStream,
  emfDocuments,
  failingStream,
  metricValues,
  spyOnConsoleLog,
} from "../../../support/counter.js";

// POWERTOOLS_DEV (test/support/setup.ts) turns metrics off unless told otherwise.
process.env.POWERTOOLS_METRICS_DISABLED = "false";

const TARGET: SessionTarget = { customerId: "42", subAccountId: "7" };
const SAO_PAULO = "America/Sao_Paulo";

function prepare(csv: string | (() => Promise<Readable>), now: string) {
  const metrics = new Metrics({ namespace: "WavySessions", serviceName: "count-test" });
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const deps: CountDeps = {
    openCsv: typeof csv === "string" ? async () => csvStream(csv) : csv,
    clock: () => new Date(now),
    timeZone: SAO_PAULO,
    metrics,
    logger,
  };
  return { deps, metrics, logger };
}

/** A count that ran with credentials: the figures, never the not-configured result. */
async function counted(target: SessionTarget, deps: CountDeps): Promise<SessionCountResult> {
  const result = await countOpenSessions(target, deps);
  if ("notConfigured" in result) throw new Error("expected figures, got not-configured");
  return result;
}

const figuresOf = async (csv: string, now: string) => {
  const { deps } = prepare(csv, now);
  const { openSessions, expiringWithin1h, expiringWithin4h, unparseableTimestamps } = await counted(
    TARGET,
    deps,
  );
  return { openSessions, expiringWithin1h, expiringWithin4h, unparseableTimestamps };
};

const csv = (...rows: string[]) =>
  `source;session_created_at\n${rows.map((at, i) => `55119876543${String(i).padStart(2, "0")};${at}`).join("\n")}\n`;

describe("counting open sessions", () => {
  it("puts each row in the right window around the 1 h, 4 h and 24 h edges", async () => {
    // Prepare: now is 09:00 in Sao Paulo (UTC-3); a session closes 24 h after it was created.
    const now = "2026-11-28T12:00:00Z";
    const rows = csv(
      "2026-11-27 09:00:00", // closes exactly now: already closed
      "2026-11-27 09:00:00.001", // closes 1 ms after now: 1 h and 4 h
      "2026-11-27 10:00:00", // closes at now + 1 h exactly: 1 h and 4 h
      "2026-11-27 10:00:00.001", // closes 1 ms past now + 1 h: 4 h only
      "2026-11-27 13:00:00", // closes at now + 4 h exactly: 4 h
      "2026-11-27 13:00:01", // closes 1 s past now + 4 h: neither
      "2026-11-27 08:00:00", // closed an hour ago: neither, still counted open
      "2026-11-28 10:00:00", // created in our future: neither
      "2026-11-27T12:30:00Z", // with an offset: closes now + 30 min
      "2026-11-27T10:30:00-05:00", // 15:30Z: closes now + 3 h 30 min
      "yesterday", // unreadable: open, and counted as such
    );
    // Act
    const figures = await figuresOf(rows, now);
    // Assess
    expect(figures).toEqual({
      openSessions: 11,
      expiringWithin1h: 3,
      expiringWithin4h: 6,
      unparseableTimestamps: 1,
    });
  });

  it("uses the -03 offset before the 2018-11-04 spring forward and -02 after it", async () => {
    // Prepare: now is 11:00 local (-02) on the first summer day.
    const rows = csv(
      "2018-11-03 10:30:00", // -03: 13:30Z, closes now + 30 min
      "2018-11-03 12:00:00", // -03: 15:00Z, closes now + 2 h
      "2018-11-03 14:30:00", // -03: 17:30Z, closes now + 4 h 30 min
      "2018-11-04 00:30:00", // skipped locally; read as 01:30 -02, closes tomorrow
    );
    // Act
    const figures = await figuresOf(rows, "2018-11-04T13:00:00Z");
    // Assess: a fixed -02 would move the first two rows an hour earlier (and the first out).
    expect(figures).toEqual({
      openSessions: 4,
      expiringWithin1h: 1,
      expiringWithin4h: 2,
      unparseableTimestamps: 0,
    });
  });

  it("uses the -02 offset before the 2019-02-17 fall back and -03 after it", async () => {
    // Prepare: now is 00:30 local (-03) just after clocks went back.
    const rows = csv(
      "2019-02-16 00:00:00", // -02: 02:00Z, closed at 02:00Z on the 17th
      "2019-02-16 02:00:00", // -02: 04:00Z, closes now + 30 min
      "2019-02-16 05:00:00", // -02: 07:00Z, closes now + 3 h 30 min
      "2019-02-17 01:00:00", // -03: 04:00Z on the 17th, closes tomorrow
    );
    // Act
    const figures = await figuresOf(rows, "2019-02-17T03:30:00Z");
    // Assess: a fixed -03 would put the second row outside the hour.
    expect(figures).toEqual({
      openSessions: 4,
      expiringWithin1h: 1,
      expiringWithin4h: 2,
      unparseableTimestamps: 0,
    });
  });

  it.each([
    ["a header-only CSV", "source;session_created_at\n"],
    ["a header without a final newline", "origem,session_created_at"],
    ["an empty file", ""],
  ])("reports zeros for %s", async (_name, text) => {
    expect(await figuresOf(text, "2026-11-28T12:00:00Z")).toEqual({
      openSessions: 0,
      expiringWithin1h: 0,
      expiringWithin4h: 0,
      unparseableTimestamps: 0,
    });
  });

  const plain = [
    ["5511999990001", "2026-11-27 09:30:00"],
    ["5511999990002", "2026-11-27 11:00:00"],
    ["5511999990003", "2026-11-28 08:00:00"],
  ];
  it.each([
    [
      "semicolons and LF",
      `source;session_created_at\n${plain.map((r) => r.join(";")).join("\n")}\n`,
    ],
    [
      "commas and CRLF",
      `source,session_created_at\r\n${plain.map((r) => r.join(",")).join("\r\n")}\r\n`,
    ],
    [
      "a BOM and Portuguese headers",
      `\uFEFForigem;session_created_at\n${plain.map((r) => r.join(";")).join("\n")}`,
    ],
    [
      "quoted fields, blank lines and the columns swapped",
      `"session_created_at";"source"\n\n${plain.map(([s, t]) => `"${t}";"${s}"`).join("\n\n")}\n`,
    ],
  ])("reads %s alike", async (_name, text) => {
    expect(await figuresOf(text, "2026-11-28T12:00:00Z")).toEqual({
      openSessions: 3,
      expiringWithin1h: 1,
      expiringWithin4h: 2,
      unparseableTimestamps: 0,
    });
  });

  it("logs unreadable timestamps once, with a sample and never a phone number", async () => {
    // Prepare
    const rows = csv(
      ...Array.from({ length: 50 }, (_, i) => `not-a-time-${i}`),
      "2026-11-28 08:00:00",
    );
    const { deps, logger } = prepare(rows, "2026-11-28T12:00:00Z");
    // Act
    const result = await counted(TARGET, deps);
    // Assess
    expect(result.unparseableTimestamps).toBe(50);
    expect(result.openSessions).toBe(51);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[1]).toEqual({
      unparseableTimestamps: 50,
      sample: "not-a-time-0",
    });
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain("5511");
  });

  it("returns the figures with string ids and measuredAt in UTC", async () => {
    const { deps } = prepare(csv("2026-11-27 09:30:00"), "2026-11-28T12:00:00.000Z");
    expect(await countOpenSessions({ customerId: "42", subAccountId: null }, deps)).toEqual({
      customerId: "42",
      subAccountId: null,
      openSessions: 1,
      expiringWithin1h: 1,
      expiringWithin4h: 1,
      unparseableTimestamps: 0,
      measuredAt: "2026-11-28T12:00:00.000Z",
    });
  });

  it("emits the figures as EMF counts with CustomerId and SubAccountId", async () => {
    // Prepare
    const log = spyOnConsoleLog();
    const { deps, metrics } = prepare(
      csv("2026-11-27 09:30:00", "2026-11-27 13:00:00", "?"),
      "2026-11-28T12:00:00Z",
    );
    // Act
    await countOpenSessions(TARGET, deps);
    metrics.publishStoredMetrics();
    // Assess
    const documents = emfDocuments(log);
    expect(documents).toHaveLength(1);
    const [document] = documents;
    const directive = document?._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe("WavySessions");
    expect(directive?.Dimensions[0]).toEqual(
      expect.arrayContaining(["CustomerId", "SubAccountId"]),
    );
    expect(document?.CustomerId).toBe("42");
    expect(document?.SubAccountId).toBe("7");
    expect(Object.fromEntries(metricValues(documents))).toEqual({
      OpenSessions: { value: 3, unit: "Count" },
      SessionsExpiringWithin1h: { value: 1, unit: "Count" },
      SessionsExpiringWithin4h: { value: 2, unit: "Count" },
      UnparseableTimestamps: { value: 1, unit: "Count" },
    });
  });

  it("labels a customer without a sub-account 'all'", async () => {
    const log = spyOnConsoleLog();
    const { deps, metrics } = prepare(csv(), "2026-11-28T12:00:00Z");
    await countOpenSessions({ customerId: "42", subAccountId: null }, deps);
    metrics.publishStoredMetrics();
    expect(emfDocuments(log)[0]?.SubAccountId).toBe("all");
  });

  it.each([
    ["Wavy refuses the request", () => Promise.reject(new UpstreamError("Wavy answered 403"))],
    [
      "the download breaks off mid-way",
      async () => failingStream(csv("2026-11-27 09:30:00"), new UpstreamError("connection reset")),
    ],
    ["the CSV leaves a quote open", async () => csvStream(`${csv("2026-11-27 09:30:00")}"55119`)],
  ])("emits WavyRequestFailed and no figures, then fails, when %s", async (_name, open) => {
    // Prepare
    const log = spyOnConsoleLog();
    const { deps, metrics, logger } = prepare(open, "2026-11-28T12:00:00Z");
    // Act
    const outcome = countOpenSessions(TARGET, deps);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(UpstreamError);
    metrics.publishStoredMetrics();
    const documents = emfDocuments(log);
    expect(Object.fromEntries(metricValues(documents))).toEqual({
      WavyRequestFailed: { value: 1, unit: "Count" },
    });
    expect(documents[0]?.CustomerId).toBe("42");
    expect(documents[0]?.SubAccountId).toBe("7");
    expect(logger.error).toHaveBeenCalledTimes(1);
  });

  it("reports a secret still holding the stack's placeholder as NotConfigured, without failing", async () => {
    // Prepare: what the credential cache throws before any Wavy call on a fresh deploy.
    const log = spyOnConsoleLog();
    const { deps, metrics, logger } = prepare(async () => {
      throw new WavyNotConfiguredError();
    }, "2026-11-28T12:00:00Z");
    // Act
    const result = await countOpenSessions(TARGET, deps);
    // Assess: a run that counted nothing, with no WavyRequestFailed to alarm on.
    expect(result).toEqual({
      customerId: "42",
      subAccountId: "7",
      notConfigured: true,
      measuredAt: "2026-11-28T12:00:00.000Z",
    });
    metrics.publishStoredMetrics();
    const documents = emfDocuments(log);
    expect(Object.fromEntries(metricValues(documents))).toEqual({
      NotConfigured: { value: 1, unit: "Count" },
    });
    expect(documents[0]?.CustomerId).toBe("42");
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.error).not.toHaveBeenCalled();
  });
});
