import { createHash } from "node:crypto";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { startApiServer } from "../../dev/api-gateway.js";
import { LocalS3 } from "../../dev/local-s3.js";
import { WavySimulator, type WavySimulatorOptions } from "../../dev/wavy-simulator.js";
import { handleApiRequest } from "../../lambdas/export-sessions/handler.js";
import { loadExportConfig, once } from "../../lambdas/lib/config.js";
import {
  buildExportService,
  type ExportServiceDeps,
} from "../../lambdas/lib/exports/export-service.js";
import { recordAwsCalls } from "./aws-call-recorder.js";

export const BUCKET = "wavy-exports-test";

/** Fast retries so failing paths take milliseconds, not seconds. */
export const TEST_BACKOFF = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

export interface Harness {
  wavy: WavySimulator;
  s3: LocalS3;
  s3Client: S3Client;
  apiUrl: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  objectKeys(prefix?: string): Promise<string[]>;
  readObject(key: string): Promise<Buffer>;
  emptyBucket(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  wavy?: WavySimulatorOptions;
  env?: Record<string, string>;
  deps?: ExportServiceDeps;
}

/** The export API over real HTTP, against the Wavy simulator and s3rver, all on loopback. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const wavy = await new WavySimulator(options.wavy).start();
  const s3 = await new LocalS3({ buckets: [BUCKET] }).start();
  const s3Options = {
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
  const s3Client = new S3Client(s3Options);
  // The function's own client, so that only its calls are recorded for the IAM evaluation
  // (test/iam), not the test's listings and clean-ups.
  const functionS3 = recordAwsCalls(new S3Client(s3Options), "export");
  const config = loadExportConfig({
    WAVY_USER_NAME: wavy.credentials.userName,
    WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
    WAVY_API_URL: wavy.baseUrl,
    WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
    EXPORT_BUCKET: BUCKET,
    S3_FORCE_PATH_STYLE: "true",
    REQUEST_BUDGET_MS: "5000",
    ...options.env,
  });
  const api = once(() =>
    buildExportService(config, { s3: functionS3, backoff: TEST_BACKOFF, ...options.deps }),
  );
  const server = await startApiServer(handleApiRequest(api));

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
    apiUrl: server.url,
    call,
    objectKeys,
    readObject,
    close: async () => {
      await server.close();
      await wavy.stop();
      await s3.stop();
      s3Client.destroy();
      functionS3.destroy();
    },
  };
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}
