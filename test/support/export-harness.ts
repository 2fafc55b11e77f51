import { createHash } from "node:crypto";
import { once as eventOnce } from "node:events";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { startApiServer } from "../../dev/api-gateway.js";
import { LocalEventBridge } from "../../dev/eventbridge.js";
import { lambdaContext } from "../../dev/lambda-context.js";
import { type LocalFunction, LocalLambda } from "../../dev/lambda-service.js";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";
import { WavySimulator, type WavySimulatorOptions } from "../../dev/wavy-simulator.js";
import { handleCompanionEvent } from "../../lambdas/build-companion/handler.js";
import { handleApiRequest } from "../../lambdas/export-sessions/handler.js";
import { handleWorkerEvent } from "../../lambdas/export-worker/handler.js";
import { s3CompanionStore } from "../../lambdas/lib/companions/s3-companion-store.js";
import { loadExportConfig, once } from "../../lambdas/lib/config.js";
import { EVENT } from "../../lambdas/lib/contract.js";
import {
  buildExportService,
  type ExportServiceDeps,
} from "../../lambdas/lib/exports-aws/export-service.js";
import { recordAwsCalls } from "./aws-call-recorder.js";

export const BUCKET = "wavy-exports-test";
/** The stack's default bus, so test/iam resolves the calls against the synthesised grant. */
export const EVENT_BUS = "default";
export const WORKER_FUNCTION = "export-worker";

/** Fast retries so failing paths take milliseconds, not seconds. */
export const TEST_BACKOFF = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

export interface Harness {
  wavy: WavySimulator;
  s3: LocalS3;
  s3Client: S3Client;
  eventBridge: LocalEventBridge;
  lambda: LocalLambda;
  /** The environment the handlers were configured with (a worker in a child process reuses it). */
  env: Record<string, string>;
  apiUrl: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  objectKeys(prefix?: string): Promise<string[]>;
  readObject(key: string): Promise<Buffer>;
  /**
   * Resolves once every companion started so far is built: the EventBridge stand-in hands each
   * `Export Succeeded` to the companion function's handler in the background, as the stack's rule
   * does (docs/contract.md, "Companions"). Rejects with the first build that failed. `atLeast`:
   * first wait (up to 5 s) for that many builds since the start to have begun (a worker's event
   * comes after its manifest). Each build is awaited (and reported) once.
   */
  companions(atLeast?: number): Promise<void>;
  emptyBucket(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  wavy?: WavySimulatorOptions;
  env?: Record<string, string>;
  deps?: ExportServiceDeps;
  /** How the Lambda stand-in runs the worker; by default its handler, in this process. */
  worker?: (harness: { env: Record<string, string> }) => LocalFunction;
}

/** The export API over real HTTP, against the Wavy simulator and s3rver, all on loopback. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const wavy = await new WavySimulator(options.wavy).start();
  const s3 = await new LocalS3({ buckets: [BUCKET] }).start();
  const s3Options = localS3ClientConfig(s3.endpoint);
  const s3Client = new S3Client(s3Options);
  const eventBridge = await new LocalEventBridge().start();
  const lambda = await new LocalLambda().start();
  const env: Record<string, string> = {
    WAVY_USER_NAME: wavy.credentials.userName,
    WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
    WAVY_API_URL: wavy.baseUrl,
    WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
    EXPORT_BUCKET: BUCKET,
    S3_FORCE_PATH_STYLE: "true",
    REQUEST_BUDGET_MS: "5000",
    EVENT_BUS_NAME: EVENT_BUS,
    EXPORT_WORKER_FUNCTION_NAME: WORKER_FUNCTION,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    ...options.env,
  };
  const config = loadExportConfig(env);
  // Each function's own clients, so that only its calls are recorded for the IAM evaluation
  // (test/iam), not the test's listings and clean-ups.
  const clientsOf = (role: "export" | "worker") => ({
    s3: recordAwsCalls(new S3Client(s3Options), role),
    eventBridge: recordAwsCalls(new EventBridgeClient({ endpoint: eventBridge.endpoint }), role),
    lambda: recordAwsCalls(new LambdaClient({ endpoint: lambda.endpoint }), role),
  });
  const exportClients = clientsOf("export");
  const workerClients = clientsOf("worker");
  const api = once(() =>
    buildExportService(config, { backoff: TEST_BACKOFF, ...exportClients, ...options.deps }),
  );
  // The worker gets a service of its own, as a separate Lambda function would.
  const workerService = once(() =>
    buildExportService(config, { backoff: TEST_BACKOFF, ...workerClients, ...options.deps }),
  );
  lambda.register(
    WORKER_FUNCTION,
    options.worker?.({ env }) ??
      ((payload) =>
        handleWorkerEvent(workerService)(payload, lambdaContext(WORKER_FUNCTION, 60_000))),
  );
  const server = await startApiServer(handleApiRequest(api));

  // The companion function, started by the stand-in bus as the stack's rule starts it.
  const companionS3 = recordAwsCalls(new S3Client(s3Options), "companion");
  const buildCompanion = handleCompanionEvent(() => ({
    store: s3CompanionStore(companionS3, BUCKET),
    timeZone: config.timeZone,
  }));
  let started = 0;
  const pending: Promise<unknown>[] = [];
  eventBridge.onEvent((event) => {
    if (event.source !== EVENT.source || event["detail-type"] !== EVENT.succeeded) return;
    const build = buildCompanion(event);
    build.catch(() => {}); // reported by companions()
    pending.push(build);
    started++;
  });
  const companions = async (atLeast = 0) => {
    const until = Date.now() + 5_000;
    while (started < atLeast) {
      if (Date.now() > until)
        throw new Error(`Expected ${atLeast} companion builds, got ${started}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Each build is reported once: a failed one does not fail every later wait.
    while (pending.length > 0) {
      const results = await Promise.allSettled(pending.splice(0));
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    }
  };
  const call: Harness["call"] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text ? JSON.parse(text) : {},
    };
  };
  const objectKeys = async (prefix = "") => {
    const listing = await s3Client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }),
    );
    return (listing.Contents ?? []).map((object) => object.Key ?? "");
  };
  const readObject = async (key: string) => {
    const object = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  };
  const emptyBucket = async () => {
    // A companion still being built would land in the next test's bucket; one stuck on a hung
    // S3 (a deadline test's fault) is not waited for past 2 s.
    await Promise.race([
      companions().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 2_000)),
    ]);
    const keys = await objectKeys();
    if (keys.length === 0) return;
    await s3Client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: keys.map((Key) => ({ Key })) },
      }),
    );
  };
  return {
    wavy,
    emptyBucket,
    s3,
    s3Client,
    eventBridge,
    lambda,
    env,
    apiUrl: server.url,
    call,
    objectKeys,
    readObject,
    companions,
    close: async () => {
      await server.close();
      await lambda.stop();
      await eventBridge.stop();
      await wavy.stop();
      await s3.stop();
      s3Client.destroy();
      companionS3.destroy();
      for (const clients of [exportClients, workerClients]) {
        for (const client of Object.values(clients)) client.destroy();
      }
    },
  };
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Links Wavy to a CSV host that streams rows until a multipart upload is open (past the part
 * size), then drops the connection mid-body: the export must abort that upload.
 */
export function linkToCsvThatDisconnectsOnceUploading(h: Harness, row: string): void {
  const chunk = row.repeat(Math.ceil((1024 * 1024) / row.length));
  h.wavy.linkTo(
    h.wavy.serveFile(async (_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.write("source;session_created_at\n");
      for (let sent = 0; h.s3.openUploads.size === 0 && sent < 28; sent++) {
        if (!res.write(chunk)) await eventOnce(res, "drain");
      }
      res.destroy();
    }),
  );
}
