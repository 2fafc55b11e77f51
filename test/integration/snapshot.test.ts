import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DateTime } from "luxon";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LocalEventBridge } from "../../dev/eventbridge.js";
import { lambdaContext } from "../../dev/lambda-context.js";
import { LocalS3 } from "../../dev/local-s3.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { handler } from "../../lambdas/count-sessions/handler.js";
import { emfDocuments, metricValues, spyOnConsoleLog } from "../support/counter.js";
import { sha256 } from "../support/export-harness.js";

// Before the handler module builds its Metrics: POWERTOOLS_DEV would turn them off.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});

const BUCKET = "wavy-snapshots-test";
const HOUR = 3_600_000;
const localAgo = (ago: number) =>
  DateTime.fromMillis(Date.now() - ago, { zone: "America/Sao_Paulo" }).toFormat(
    "yyyy-MM-dd HH:mm:ss",
  );
// Two rows closing within the hour, one within four, one later: the tally has something to tell.
const CSV = [
  "source;session_created_at",
  `5511900000001;${localAgo(23.5 * HOUR)}`,
  `5511900000002;${localAgo(23.2 * HOUR)}`,
  `5511900000003;${localAgo(21 * HOUR)}`,
  `5511900000004;${localAgo(2 * HOUR)}`,
  "",
].join("\n");

describe("scheduled snapshots: the counter stores the CSV it counts", () => {
  let wavy: WavySimulator;
  let s3: LocalS3;
  let eventBridge: LocalEventBridge;
  let s3Client: S3Client;
  const keys = async (prefix: string) =>
    (
      (await s3Client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix })))
        .Contents ?? []
    ).map((object) => object.Key ?? "");

  beforeAll(async () => {
    wavy = await new WavySimulator({ csvByTarget: { "42/7": CSV, "43": CSV } }).start();
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    eventBridge = await new LocalEventBridge().start();
    s3Client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: "us-east-1" });
    Object.assign(process.env, {
      WAVY_USER_NAME: wavy.credentials.userName,
      WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
      EXPORT_BUCKET: BUCKET,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      EVENT_BUS_NAME: "default",
    });
  });
  afterAll(async () => {
    await eventBridge.stop();
    await s3.stop();
    await wavy.stop();
    s3Client.destroy();
  });
  afterEach(() => {
    wavy.requests.length = 0;
    eventBridge.events.length = 0;
  });

  it("counts and stores in one download, and the stored export is in the history with its event", async () => {
    const log = spyOnConsoleLog();

    const result = await handler(
      { customerId: "42", subAccountId: "7", snapshot: true },
      lambdaContext("count-sessions", 60_000),
    );

    expect(result).toMatchObject({
      openSessions: 4,
      expiringWithin1h: 2,
      expiringWithin4h: 3,
      export: {
        status: "succeeded",
        trigger: "schedule",
        rows: 4,
        sha256: sha256(CSV),
        subAccountId: "7",
      },
    });
    const stored = (result as { export: { key: string; exportId: string } }).export;
    expect(stored).not.toHaveProperty("downloadUrl");
    expect(wavy.sessionCalls()).toHaveLength(1);
    expect(wavy.fileCalls()).toHaveLength(1);
    const object = await s3Client.send(
      new (await import("@aws-sdk/client-s3")).GetObjectCommand({
        Bucket: BUCKET,
        Key: stored.key,
      }),
    );
    expect(await object.Body?.transformToString()).toBe(CSV);
    // The snapshot's copy pass names its companion but does not write it: the companion
    // function builds it from the stored CSV on the Export Succeeded event (issue 19).
    const companion = stored.key.replace(/^exports\//, "sessions/").replace(/\.csv$/, ".parquet");
    expect(result).toMatchObject({ export: { sessionsKey: companion } });
    expect(await keys("sessions/")).toEqual([]);
    expect(await keys(`manifests/${stored.exportId}.json`)).toHaveLength(1);
    expect(await keys("history/customerId=42/subAccountId=7/")).toEqual([
      expect.stringMatching(new RegExp(`-${stored.exportId}\\.json$`)),
    ]);
    const [event] = await eventBridge.waitFor(1);
    const { companion: _companion, ...manifest } = stored as typeof stored & {
      companion?: unknown;
    };
    expect(event).toMatchObject({ "detail-type": "Export Succeeded", detail: manifest });
    expect(metricValues(emfDocuments(log)).get("OpenSessions")?.value).toBe(4);
  });

  it("fails the count, announces Export Failed and stores nothing when Wavy fails", async () => {
    const log = spyOnConsoleLog();
    wavy.replySession({ status: 403, body: "{}" });
    const before = await keys("");

    await expect(
      handler({ customerId: "43", snapshot: true }, lambdaContext("count-sessions", 60_000)),
    ).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });

    expect(await keys("")).toEqual(before);
    const [event] = await eventBridge.waitFor(1);
    expect(event).toMatchObject({
      "detail-type": "Export Failed",
      detail: { trigger: "schedule", customerId: "43", error: { code: "UPSTREAM_ERROR" } },
    });
    expect(metricValues(emfDocuments(log)).get("WavyRequestFailed")?.value).toBe(1);
  });

  it("stores nothing for a target without snapshot", async () => {
    const before = await keys("");

    const result = await handler({ customerId: "43" }, lambdaContext("count-sessions", 60_000));

    expect(result).toMatchObject({ openSessions: 4 });
    expect(result).not.toHaveProperty("export");
    expect(await keys("")).toEqual(before);
    expect(eventBridge.events).toHaveLength(0);
  });

  it("refuses a snapshot flag that is not a boolean", async () => {
    await expect(
      handler({ customerId: "43", snapshot: "yes" }, lambdaContext("count-sessions", 60_000)),
    ).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });
});
