import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalEventBridge } from "../../dev/eventbridge.js";
import { lambdaContext } from "../../dev/lambda-context.js";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { LocalS3 } from "../../dev/local-s3.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { windowWrite } from "../../lambdas/lib/windows/window.js";
import { captureLogs } from "../support/log-capture.js";

// Before the handler module builds its Metrics: POWERTOOLS_DEV would turn them off.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});

const HOUR = 3_600_000;
const BUSINESS = "5511999990000";
const TABLE = "reconcile-windows";
const BUCKET = "reconcile-snapshots";

/** São Paulo wall-clock text of an instant, as Wavy writes session_created_at. */
const saoPaulo = (ms: number) =>
  DateTime.fromMillis(ms, { zone: "America/Sao_Paulo" }).toFormat("yyyy-MM-dd HH:mm:ss");

/**
 * The counter's snapshot reconciliation (docs/contract.md, "Snapshots reconciled"): the CSV of a
 * single-origin target merged into the windows table, on the count path and the snapshot path.
 */
describe("the counter reconciles its CSV with the live windows", () => {
  let wavy: WavySimulator;
  let dynamo: LocalDynamoDb;
  let s3: LocalS3;
  let eventBridge: LocalEventBridge;
  let intelligence: DynamoDbWindowStore;

  /** Three windows the webhook saw, and a CSV listing them plus two it missed. */
  async function seed(prefix: string): Promise<{ csv: string; missed: string[] }> {
    const store = new DynamoDbWindowStore(new DynamoDBClient(dynamo.clientConfig()), TABLE);
    const now = Date.now();
    const seen = [1, 2, 3].map((n) => ({ destination: `${prefix}0${n}`, at: now - n * HOUR }));
    for (const { destination, at } of seen) {
      await store.advance(
        windowWrite(
          { id: destination, destination, origin: BUSINESS, receivedAtMs: at },
          { retentionDays: 7, nowMs: now },
        ),
      );
    }
    const missed = [`${prefix}08`, `${prefix}09`];
    const rows = [
      ...seen.map(({ destination, at }) => `${destination};${saoPaulo(at)}`),
      ...missed.map((destination) => `${destination};${saoPaulo(now - 5 * HOUR)}`),
    ];
    return { csv: ["source;session_created_at", ...rows, ""].join("\n"), missed };
  }

  beforeAll(async () => {
    wavy = await new WavySimulator().start();
    dynamo = await new LocalDynamoDb().start();
    await dynamo.createWindowsTable(TABLE);
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    eventBridge = await new LocalEventBridge().start();
    Object.assign(process.env, {
      WAVY_USER_NAME: wavy.credentials.userName,
      WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
      WAVY_TIMEZONE: "America/Sao_Paulo",
      WINDOWS_TABLE_NAME: TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      EXPORT_BUCKET: BUCKET,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      EVENT_BUS_NAME: "default",
    });
    intelligence = new DynamoDbWindowStore(dynamo.client(), TABLE);
  });

  afterAll(async () => {
    await wavy.stop();
    await dynamo.stop();
    await s3.stop();
    await eventBridge.stop();
    for (const name of ["WINDOWS_TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB", "EXPORT_BUCKET"])
      delete process.env[name];
  });

  it("adds the windows the webhook missed as seenBy snapshot, emits the drift, logs it masked", async () => {
    const { csv, missed } = await seed("55119111111");
    wavy.csvByTarget.set("42", csv);
    const logs = captureLogs();
    const { handler } = await import("../../lambdas/count-sessions/handler.js");

    const result = await handler(
      { customerId: "42", origins: [BUSINESS] },
      lambdaContext("count-sessions", 30_000),
    ).finally(() => logs.restore());

    expect(result.reconciliation).toMatchObject({
      rows: 5,
      drift: [{ origin: BUSINESS, onlyInSnapshot: 2, onlyLive: 0, written: 2 }],
      zone: { decided: true, offsetMinutes: -180, mismatch: false, pairs: 3 },
    });
    for (const destination of missed) {
      expect(await intelligence.windowOf({ destination, origin: BUSINESS })).toMatchObject({
        seenBy: "snapshot",
      });
    }
    const documents = logs.lines
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const drift = documents
      .filter((document) => "WindowsOnlyInSnapshot" in document)
      .map((document) => ({ origin: document.Origin, value: document.WindowsOnlyInSnapshot }));
    expect(drift).toEqual([{ origin: BUSINESS, value: 2 }]);
    const reconciled = logs.lines.filter((line) => line.includes("Snapshot reconciled"));
    expect(reconciled).toHaveLength(1);
    expect(reconciled[0]).toContain("*********0000");
    expect(reconciled[0]).not.toContain(BUSINESS);
    for (const destination of missed) expect(logs.text()).not.toContain(destination);
  });

  it("reconciles from the snapshot's own scan when the counter also stores the CSV", async () => {
    const { csv, missed } = await seed("55119222222");
    wavy.csvByTarget.set("42/7", csv);
    const { handler } = await import("../../lambdas/count-sessions/handler.js");

    const result = await handler(
      { customerId: "42", subAccountId: "7", snapshot: true, origins: [BUSINESS] },
      lambdaContext("count-sessions", 60_000),
    );

    expect(result).toMatchObject({ openSessions: 5, export: { status: "succeeded", rows: 5 } });
    expect(result.reconciliation).toMatchObject({
      rows: 5,
      drift: [{ origin: BUSINESS, onlyInSnapshot: 2, written: 2 }],
    });
    for (const destination of missed) {
      expect(await intelligence.windowOf({ destination, origin: BUSINESS })).toMatchObject({
        seenBy: "snapshot",
      });
    }
  });
});
