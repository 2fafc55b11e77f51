import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { handler } from "../../lambdas/count-sessions/handler.js";
import { InvalidRequestError, UpstreamError } from "../../lambdas/lib/errors.js";
import { emfDocuments, metricValues, spyOnConsoleLog } from "../support/counter.js";
import { counterEvent } from "../support/events.js";

// Before the handler module builds its Metrics: POWERTOOLS_DEV would turn them off.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});

const HOUR = 3_600_000;
const context = lambdaContext("count-sessions", 30_000);

/** Sao Paulo wall-clock text for an instant `ago` ms before now, as Wavy writes it. */
const localAgo = (ago: number) =>
  DateTime.fromMillis(Date.now() - ago, { zone: "America/Sao_Paulo" }).toFormat(
    "yyyy-MM-dd HH:mm:ss",
  );

describe("the count-sessions handler", () => {
  let wavy: WavySimulator;

  beforeAll(async () => {
    wavy = await new WavySimulator().start();
    Object.assign(process.env, {
      WAVY_USER_NAME: wavy.credentials.userName,
      WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
    });
  });

  afterAll(async () => {
    await wavy.stop();
  });

  it("counts a target's sessions from Wavy and flushes them as EMF", async () => {
    // Prepare: closing in 30 min, in 3 h, and in 14 h.
    wavy.csvByTarget.set(
      "42/7",
      `source;session_created_at\n5511900000001;${localAgo(23.5 * HOUR)}\n5511900000002;${localAgo(21 * HOUR)}\n5511900000003;${localAgo(10 * HOUR)}\n`,
    );
    const log = spyOnConsoleLog();
    const before = Date.now();
    // Act
    const result = await handler({ customerId: "42", subAccountId: 7 }, context);
    // Assess
    expect(result).toMatchObject({
      customerId: "42",
      subAccountId: "7",
      openSessions: 3,
      expiringWithin1h: 1,
      expiringWithin4h: 2,
      unparseableTimestamps: 0,
    });
    const measuredAt = Date.parse(result.measuredAt);
    expect(measuredAt).toBeGreaterThanOrEqual(before);
    expect(result.measuredAt).toMatch(/Z$/);
    const documents = emfDocuments(log);
    expect(documents).toHaveLength(1);
    const directive = documents[0]?._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe("WavySessions");
    expect(directive?.Dimensions[0]).toEqual(
      expect.arrayContaining(["CustomerId", "SubAccountId"]),
    );
    expect(documents[0]).toMatchObject({ CustomerId: "42", SubAccountId: "7" });
    expect(Object.fromEntries(metricValues(documents))).toEqual({
      OpenSessions: { value: 3, unit: "Count" },
      SessionsExpiringWithin1h: { value: 1, unit: "Count" },
      SessionsExpiringWithin4h: { value: 2, unit: "Count" },
      UnparseableTimestamps: { value: 0, unit: "Count" },
    });
  });

  it("counts a whole customer as SubAccountId 'all' when no sub-account is given", async () => {
    wavy.csvByTarget.set("42", "origem,session_created_at\r\n");
    const log = spyOnConsoleLog();
    const result = await handler(counterEvent("42"), context);
    expect(result).toMatchObject({ customerId: "42", subAccountId: null, openSessions: 0 });
    expect(wavy.sessionCalls().at(-1)?.query.has("subAccountId")).toBe(false);
    expect(emfDocuments(log)[0]).toMatchObject({ SubAccountId: "all", OpenSessions: 0 });
  });

  it.each([
    [{ customerId: "0" }],
    [{ customerId: "42", subAccountId: "" }],
    [{}],
    [{ customerId: "42", snapshots: true }],
    [{ customerId: "42", snapshot: "yes" }],
  ])("rejects the invalid event %j without asking Wavy", async (event) => {
    const calls = wavy.sessionCalls().length;
    const log = spyOnConsoleLog();
    await expect(handler(event, context)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(wavy.sessionCalls()).toHaveLength(calls);
    expect(metricValues(emfDocuments(log)).has("WavyRequestFailed")).toBe(false);
  });

  it("names the unknown field of an event, so a typo does not count and quietly store nothing", async () => {
    const typo = handler({ customerId: "42", snapshots: true }, context);
    await expect(typo).rejects.toThrow(/unknown field "snapshots".*snapshot/);
  });

  it("emits WavyRequestFailed, no OpenSessions, and fails when Wavy refuses", async () => {
    // Prepare
    wavy.replySession({ status: 403, body: '{"error":"forbidden"}' });
    const log = spyOnConsoleLog();
    // Act
    const outcome = handler(counterEvent("42", "7"), context);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(UpstreamError);
    const documents = emfDocuments(log);
    expect(Object.fromEntries(metricValues(documents))).toEqual({
      WavyRequestFailed: { value: 1, unit: "Count" },
    });
    expect(documents[0]).toMatchObject({ CustomerId: "42", SubAccountId: "7" });
  });

  it("emits WavyRequestFailed and fails when the CSV download breaks off", async () => {
    // Prepare
    const fileUrl = wavy.serveFile((_req, res) => {
      res.writeHead(200, { "content-type": "text/csv", "content-length": "100000" });
      res.write(`source;session_created_at\n5511900000001;${localAgo(HOUR)}\n`);
      setTimeout(() => res.destroy(), 20);
    });
    wavy.linkTo(fileUrl);
    const log = spyOnConsoleLog();
    // Act
    const outcome = handler(counterEvent("42", "7"), context);
    // Assess
    await expect(outcome).rejects.toThrow();
    expect(Object.fromEntries(metricValues(emfDocuments(log)))).toEqual({
      WavyRequestFailed: { value: 1, unit: "Count" },
    });
  });
});
