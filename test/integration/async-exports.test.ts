import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { localS3ClientConfig } from "../../dev/local-s3.js";
import { handleWorkerEvent } from "../../lambdas/export-worker/handler.js";
import { loadExportConfig } from "../../lambdas/lib/config.js";
import { manifestKey } from "../../lambdas/lib/exports/export-document.js";
import { buildExportService } from "../../lambdas/lib/exports-aws/export-service.js";
import { recordAwsCalls } from "../support/aws-call-recorder.js";
import {
  BUCKET,
  EVENT_BUS,
  type Harness,
  linkToCsvThatDisconnectsOnceUploading,
  sha256,
  startHarness,
} from "../support/export-harness.js";

const CSV =
  "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n5521912345678;2026-11-28 10:01:00\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";
const ASYNC = { Prefer: "respond-async" };

/**
 * The harness's worker as a process of its own, configured as in Lambda, so a test can kill it
 * mid-copy with SIGKILL, as Lambda's timeout or an out-of-memory would.
 */
function killableWorker() {
  const script = fileURLToPath(new URL("../support/worker-process.ts", import.meta.url));
  let child: ChildProcess | undefined;
  return {
    launch:
      ({ env }: { env: Record<string, string> }) =>
      async (payload: unknown) => {
        child = spawn(
          process.execPath,
          ["--import", "tsx", script, JSON.stringify(payload), "600000"],
          {
            env: { ...process.env, ...env, POWERTOOLS_LOG_LEVEL: "ERROR" },
            stdio: "ignore",
          },
        );
        await once(child, "exit");
      },
    kill: () => child?.kill("SIGKILL"),
  };
}

/** The CSV host serves a few MB, enough for a multipart upload to open, then hangs for ever. */
function serveCsvThenHang(h: Harness): void {
  const chunk = ROW.repeat(Math.ceil((1024 * 1024) / ROW.length));
  h.wavy.linkTo(
    h.wavy.serveFile(async (_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.write("source;session_created_at\n");
      for (let sent = 0; sent < 12; sent++) {
        if (!res.write(chunk)) await once(res, "drain");
      }
    }),
  );
}

/** Polls GET /exports/{id} until the export is no longer running. */
async function settled(h: Harness, location: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answer = await h.call("GET", location);
    if (answer.json.status !== "running" || Date.now() > until) return answer;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function expectNothingStoredAt(h: Harness, key: string) {
  expect(await h.objectKeys(key)).toEqual([]);
  expect(
    [...h.s3.openUploads.values()].filter((path) => path.includes(key.split("/").at(-1) ?? "-")),
  ).toEqual([]);
}

/** A Parquet file begins and ends with its magic number. */
async function expectParquetAt(h: Harness, key: string) {
  const object = await h.s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
  expect(bytes.subarray(-4).toString()).toBe("PAR1");
}

describe("asynchronous exports (Prefer: respond-async)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
  });
  afterAll(() => h.close());
  afterEach(async () => {
    await h.lambda.idle();
    h.wavy.requests.length = 0;
    h.eventBridge.events.length = 0;
    h.s3.clearFaults();
    h.lambda.refuseInvokes(undefined);
    await h.emptyBucket();
  });

  it("answers 202 at once with Location and a running document, then the worker stores the CSV", async () => {
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);

    expect(accepted.status).toBe(202);
    const exportId = String(accepted.json.exportId);
    expect(accepted.headers.get("location")).toBe(`/exports/${exportId}`);
    expect(accepted.headers.get("preference-applied")).toBe("respond-async");
    expect(accepted.json).toMatchObject({
      status: "running",
      trigger: "request",
      customerId: "42",
    });
    expect(accepted.json).not.toHaveProperty("downloadUrl");
    expect(accepted.json).not.toHaveProperty("sha256");
    const deadline =
      Date.parse(String(accepted.json.deadlineAt)) - Date.parse(String(accepted.json.createdAt));
    expect(deadline).toBe(900_000);
    expect(h.lambda.invocations).toContainEqual({
      functionName: "export-worker",
      payload: { exportId },
    });

    const done = await settled(h, String(accepted.headers.get("location")));

    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      exportId,
      status: "succeeded",
      rows: 2,
      bytes: Buffer.byteLength(CSV),
      sha256: sha256(CSV),
      key: accepted.json.key,
    });
    expect(done.json).not.toHaveProperty("deadlineAt");
    const download = await fetch(String(done.json.downloadUrl));
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(CSV))).toBe(true);
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    // The companion function builds the normalised companion from the stored CSV once the
    // worker's Export Succeeded is put (issue 19).
    const companion = String(accepted.json.key)
      .replace(/^exports\//, "sessions/")
      .replace(/\.csv$/, ".parquet");
    expect(done.json.sessionsKey).toBe(companion);
    await h.companions(1);
    expect(await h.objectKeys("sessions/")).toEqual([companion]);
    await expectParquetAt(h, companion);
  });

  it("announces the end on EventBridge with the document, without its download URL", async () => {
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const done = await settled(h, `/exports/${accepted.json.exportId}`);

    const [event] = await h.eventBridge.waitFor(1);

    // The detail is the manifest: no URL, and no companion (it would always say pending).
    const {
      downloadUrl: _url,
      downloadUrlExpiresAt: _expires,
      companion: _companion,
      ...withoutUrl
    } = done.json;
    expect(event).toMatchObject({
      source: "wavy-sessions",
      "detail-type": "Export Succeeded",
      eventBusName: EVENT_BUS,
      resources: [],
      detail: withoutUrl,
    });
    expect(JSON.stringify(event?.detail)).not.toContain("X-Amz-");
    expect(event?.detail).not.toHaveProperty("companion");
    expect(h.eventBridge.events).toHaveLength(1);
  });

  it("records a Wavy failure as failed with the contract's code, and stores nothing", async () => {
    h.wavy.replySession({ status: 403, body: "{}" });

    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const done = await settled(h, `/exports/${accepted.json.exportId}`);

    expect(done.json).toMatchObject({
      status: "failed",
      error: { code: "UPSTREAM_ERROR", message: expect.stringContaining("403") },
    });
    expect(done.json.completedAt).toEqual(expect.any(String));
    await expectNothingStoredAt(h, String(accepted.json.key));
    expect(await h.objectKeys("sessions/")).toEqual([]);
    const [event] = await h.eventBridge.waitFor(1);
    expect(event).toMatchObject({ "detail-type": "Export Failed", detail: done.json });
  });

  it("aborts the worker's multipart upload when the CSV host disconnects mid-body", async () => {
    linkToCsvThatDisconnectsOnceUploading(h, ROW);
    const abortedBefore = h.s3.abortedUploads.length;

    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const done = await settled(h, `/exports/${accepted.json.exportId}`);

    expect(done.json).toMatchObject({ status: "failed", error: { code: "UPSTREAM_ERROR" } });
    expect(h.s3.abortedUploads.length).toBe(abortedBefore + 1);
    expect([...h.s3.openUploads.keys()]).toEqual([]);
    expect(await h.objectKeys("exports/")).toEqual([]);
    expect(await h.objectKeys("sessions/")).toEqual([]);
  });

  it("answers 500 and leaves nothing when the worker cannot be started", async () => {
    h.lambda.refuseInvokes(500);

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    expect(await h.objectKeys()).toEqual([]);
    expect(h.wavy.requests).toHaveLength(0);
  });

  it("does nothing on a second delivery of the same event", async () => {
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    await settled(h, `/exports/${accepted.json.exportId}`);
    const etagBefore = (
      await h.s3Client.send(
        new (
          await import("@aws-sdk/client-s3")
        ).HeadObjectCommand({
          Bucket: BUCKET,
          Key: manifestKey(String(accepted.json.exportId)),
        }),
      )
    ).ETag;

    const { handleWorkerEvent } = await import("../../lambdas/export-worker/handler.js");
    const { buildExportService } = await import("../../lambdas/lib/exports-aws/export-service.js");
    const { loadExportConfig } = await import("../../lambdas/lib/config.js");
    const { lambdaContext } = await import("../../dev/lambda-context.js");
    const service = buildExportService(loadExportConfig(h.env), { s3: h.s3Client });
    const again = await handleWorkerEvent(() => service)(
      { exportId: accepted.json.exportId },
      lambdaContext("export-worker", 60_000),
    );

    expect(again).toBeUndefined();
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    const etagAfter = (
      await h.s3Client.send(
        new (
          await import("@aws-sdk/client-s3")
        ).HeadObjectCommand({
          Bucket: BUCKET,
          Key: manifestKey(String(accepted.json.exportId)),
        }),
      )
    ).ETag;
    expect(etagAfter).toBe(etagBefore);
  });

  it("does nothing when asked for an export that is not stored", async () => {
    const { InvokeCommand, LambdaClient } = await import("@aws-sdk/client-lambda");
    const client = new LambdaClient({ endpoint: h.lambda.endpoint });
    const payload = { exportId: "20200101T000000Z-0000000000000000" };

    await client.send(
      new InvokeCommand({
        FunctionName: "export-worker",
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    await h.lambda.idle();
    client.destroy();

    expect(h.lambda.failures).toEqual([]);
    expect(h.wavy.requests).toHaveLength(0);
    expect(await h.objectKeys()).toEqual([]);
    expect(h.eventBridge.events).toHaveLength(0);
  });

  it("understands Prefer among other preferences, in any case", async () => {
    const accepted = await h.call(
      "POST",
      "/exports",
      { customerId: "42" },
      {
        Prefer: "return=minimal, Respond-Async; foo=1, wait=10",
      },
    );
    expect(accepted.status).toBe(202);
    await settled(h, `/exports/${accepted.json.exportId}`);

    const other = await h.call(
      "POST",
      "/exports",
      { customerId: "42" },
      { Prefer: "respond-asynchronously" },
    );
    expect(other.status).toBe(201);
    expect(other.json.status).toBe("succeeded");
  });

  it("refuses a bad body with 400 before anything is stored or started", async () => {
    const { status } = await h.call("POST", "/exports", { customerId: "0" }, ASYNC);

    expect(status).toBe(400);
    expect(h.lambda.invocations.filter((i) => i.payload === undefined)).toEqual([]);
    expect(await h.objectKeys()).toEqual([]);
  });
});

describe("asynchronous exports without a worker configured", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { EXPORT_WORKER_FUNCTION_NAME: "" } });
  });
  afterAll(() => h.close());

  it("answers 500 naming nothing to the caller, logs the variable, and stores nothing", async () => {
    const { status, json } = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);

    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    expect(await h.objectKeys()).toEqual([]);
  });
});

describe("a worker killed mid-copy", () => {
  let h: Harness;
  let offsetMs = 0;
  const worker = killableWorker();

  beforeAll(async () => {
    h = await startHarness({
      deps: { clock: () => new Date(Date.now() + offsetMs) },
      // The worker runs in a process of its own, configured as in Lambda, so it can be killed.
      worker: worker.launch,
    });
  });
  afterAll(async () => {
    worker.kill();
    await h.close();
  });

  it("reads running until its deadline, then failed, with its upload aborted and no object", async () => {
    serveCsvThenHang(h);
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const location = `/exports/${accepted.json.exportId}`;
    const until = Date.now() + 20_000;
    while (
      h.s3.openUploads.size === 0 ||
      !h.s3.requests.some((r) => r.method === "PUT" && r.query.has("partNumber"))
    ) {
      if (Date.now() > until) throw new Error("the worker never opened a multipart upload");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    worker.kill();
    await h.lambda.idle();

    const stillRunning = await h.call("GET", location);
    expect(stillRunning.json.status).toBe("running");
    expect(h.s3.openUploads.size).toBe(1);

    offsetMs = Date.parse(String(accepted.json.deadlineAt)) - Date.now() + 1_000;
    const read = await h.call("GET", location);

    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      status: "failed",
      error: { code: "UPSTREAM_TIMEOUT", message: expect.stringContaining("deadline") },
    });
    expect([...h.s3.openUploads.keys()]).toEqual([]);
    expect(await h.objectKeys("exports/")).toEqual([]);
    const events = await h.eventBridge.waitFor(1);
    expect(events.map((event) => event["detail-type"])).toEqual(["Export Failed"]);
    expect(events[0]?.detail).toEqual(read.json);

    // The failure is recorded: a second read changes nothing and announces nothing.
    const again = await h.call("GET", location);
    expect(again.json).toEqual(read.json);
    expect(h.eventBridge.events).toHaveLength(1);
  });
});

describe("a worker killed mid-copy, with nobody reading", () => {
  let h: Harness;
  let offsetMs = 0;
  const worker = killableWorker();

  beforeAll(async () => {
    h = await startHarness({
      deps: { clock: () => new Date(Date.now() + offsetMs) },
      worker: worker.launch,
    });
  });
  afterAll(async () => {
    worker.kill();
    await h.close();
  });

  it("is settled by the scheduled sweep: Export Failed put, upload aborted, nothing left", async () => {
    serveCsvThenHang(h);
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const until = Date.now() + 20_000;
    while (!h.s3.requests.some((r) => r.method === "PUT" && r.query.has("partNumber"))) {
      if (Date.now() > until) throw new Error("the worker never uploaded a part");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    worker.kill();
    await h.lambda.idle();
    const sweep = () =>
      handleWorkerEvent(() =>
        // The worker's own recorded clients: test/iam evaluates the sweep's calls too.
        buildExportService(loadExportConfig(h.env), {
          s3: recordAwsCalls(new S3Client(localS3ClientConfig(h.s3.endpoint)), "worker"),
          clock: () => new Date(Date.now() + offsetMs),
          eventBridge: recordAwsCalls(
            new EventBridgeClient({ endpoint: h.eventBridge.endpoint }),
            "worker",
          ),
        }),
      )({ sweep: true }, lambdaContext("export-worker", 60_000));

    // In time: the sweep leaves it running.
    expect(await sweep()).toEqual({ settled: 0, remaining: false });
    offsetMs = Date.parse(String(accepted.json.deadlineAt)) - Date.now() + 1_000;
    expect(await sweep()).toEqual({ settled: 1, remaining: false });

    const events = await h.eventBridge.waitFor(1);
    expect(events.map((event) => event["detail-type"])).toEqual(["Export Failed"]);
    expect(events[0]?.detail).toMatchObject({
      exportId: accepted.json.exportId,
      error: { code: "UPSTREAM_TIMEOUT" },
    });
    expect([...h.s3.openUploads.keys()]).toEqual([]);
    expect(await h.objectKeys("exports/")).toEqual([]);
    expect(await h.objectKeys("manifests/running/")).toEqual([]);
    const read = await h.call("GET", `/exports/${accepted.json.exportId}`);
    expect(read.json).toEqual(events[0]?.detail);
  });
});

describe("a worker that outlives its deadline", () => {
  let h: Harness;
  let offsetMs = 0;
  beforeAll(async () => {
    // Only the readers' clock moves: the worker, in its own service, keeps real time.
    h = await startHarness({ wavy: { csvByTarget: { "42": CSV } } });
    const { buildExportService } = await import("../../lambdas/lib/exports-aws/export-service.js");
    const { loadExportConfig } = await import("../../lambdas/lib/config.js");
    const { EventBridgeClient } = await import("@aws-sdk/client-eventbridge");
    reader = buildExportService(loadExportConfig(h.env), {
      s3: h.s3Client,
      clock: () => new Date(Date.now() + offsetMs),
      eventBridge: new EventBridgeClient({ endpoint: h.eventBridge.endpoint }),
    });
  });
  let reader: import("../../lambdas/lib/exports-aws/export-service.js").ExportService;
  afterAll(() => h.close());

  it("loses to the reader that settled it: its object is taken back and the export stays failed", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.wavy.linkTo(
      h.wavy.serveFile(async (_req, res) => {
        await held;
        res.writeHead(200).end(CSV);
      }),
    );
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    const exportId = String(accepted.json.exportId);
    // The worker has claimed it and waits on the CSV host.
    const until = Date.now() + 10_000;
    while ((await h.call("GET", `/exports/${exportId}`)).json.startedAt === undefined) {
      if (Date.now() > until) throw new Error("the worker never claimed the export");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    offsetMs = Date.parse(String(accepted.json.deadlineAt)) - Date.now() + 1_000;
    const settled = await reader.readExport(exportId);
    release();
    await h.lambda.idle();

    expect(settled).toMatchObject({ status: "failed", error: { code: "UPSTREAM_TIMEOUT" } });
    const after = await reader.readExport(exportId);
    expect(after).toEqual(settled);
    expect(await h.objectKeys("exports/")).toEqual([]);
    // Its companion too: nothing under sessions/ outlives a failed export.
    expect(await h.objectKeys("sessions/")).toEqual([]);
    expect(h.eventBridge.events.map((event) => event["detail-type"])).toEqual(["Export Failed"]);
  });
});

describe("a worker event delivered twice at once", () => {
  let h: Harness;
  beforeAll(async () => {
    const { handleWorkerEvent } = await import("../../lambdas/export-worker/handler.js");
    const { buildExportService } = await import("../../lambdas/lib/exports-aws/export-service.js");
    const { loadExportConfig } = await import("../../lambdas/lib/config.js");
    const { lambdaContext } = await import("../../dev/lambda-context.js");
    const { EventBridgeClient } = await import("@aws-sdk/client-eventbridge");
    const { S3Client } = await import("@aws-sdk/client-s3");
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV } },
      // Lambda's asynchronous queue may deliver an event more than once: two workers, one event.
      worker: ({ env }) => {
        const deliveries = [1, 2].map(() =>
          buildExportService(loadExportConfig(env), {
            s3: new S3Client({ endpoint: env.AWS_ENDPOINT_URL_S3, forcePathStyle: true }),
            eventBridge: new EventBridgeClient({ endpoint: env.AWS_ENDPOINT_URL_EVENTBRIDGE }),
          }),
        );
        return async (payload) => {
          await Promise.all(
            deliveries.map((service) =>
              handleWorkerEvent(() => service)(payload, lambdaContext("export-worker", 60_000)),
            ),
          );
        };
      },
    });
  });
  afterAll(() => h.close());

  it("copies once: one claim wins, the other delivery does nothing", async () => {
    const accepted = await h.call("POST", "/exports", { customerId: "42" }, ASYNC);
    await h.lambda.idle();

    const done = await h.call("GET", `/exports/${accepted.json.exportId}`);

    expect(done.json).toMatchObject({ status: "succeeded", sha256: sha256(CSV) });
    expect(h.wavy.sessionCalls()).toHaveLength(1);
    expect(await h.objectKeys("exports/")).toHaveLength(1);
    expect(h.eventBridge.events).toHaveLength(1);
    expect(h.lambda.failures).toEqual([]);
  });
});
