import { createHash } from "node:crypto";
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startApiServer } from "../../dev/api-gateway.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { handleApiRequest } from "../../lambdas/export-sessions/handler.js";
import { loadExportConfig, once } from "../../lambdas/lib/config.js";
import { buildExportService } from "../../lambdas/lib/exports-aws/export-service.js";
import { createCredentialCache } from "../../lambdas/lib/wavy/credentials.js";
import { motoClients, withoutAuth } from "./moto-clients.js";
import { MOTO_BUCKET } from "./moto-world.js";

/**
 * The export API over HTTP, as in test/integration, but against moto: S3 and a real
 * GetSecretValue over HTTP, signed with the export role's credentials, restricted to exactly
 * the policies synthesised for it.
 */

const ROW = "5511987654321;2026-11-28 09:15:42\n";
const HEADER = "source;session_created_at\n";
const SMALL = `${HEADER}${ROW}${ROW}`;
const MiB = 1024 * 1024;
/** Past the 5 MiB part size: a multipart upload of three parts. */
const LARGE = HEADER + ROW.repeat(Math.ceil((12 * MiB) / ROW.length));

const sha256 = (bytes: string | Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("the export API against moto, as the export role", () => {
  const world = inject("moto");
  const fn = motoClients(world, world.roles.export);
  const admin = motoClients(world, world.admin);
  let wavy: WavySimulator;
  let server: { url: string; close(): Promise<void> };

  const call = async (method: string, path: string, body?: unknown, headers = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const stored = async (key: string) => {
    const object = await admin.s3.send(new GetObjectCommand({ Bucket: MOTO_BUCKET, Key: key }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  };
  const openUploads = async () =>
    (await admin.s3.send(new ListMultipartUploadsCommand({ Bucket: MOTO_BUCKET }))).Uploads ?? [];
  // Filtered here, not by Prefix: moto's signature check escapes a query's `/` differently
  // from SigV4 and refuses a correctly signed listing with a Prefix.
  const keys = async (prefix: string) =>
    ((await admin.s3.send(new ListObjectsV2Command({ Bucket: MOTO_BUCKET }))).Contents ?? [])
      .map((object) => String(object.Key))
      .filter((key) => key.startsWith(prefix));

  beforeAll(async () => {
    wavy = await new WavySimulator({
      csvByTarget: { "42": SMALL, "7": LARGE },
      userName: "sim-user",
      authenticationToken: "sim-token",
    }).start();
    const config = loadExportConfig({
      WAVY_SECRET_ID: world.secretArn,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
      EXPORT_BUCKET: MOTO_BUCKET,
      S3_FORCE_PATH_STYLE: "true",
      REQUEST_BUDGET_MS: "20000",
    });
    const api = once(() =>
      buildExportService(config, {
        s3: fn.s3,
        credentials: createCredentialCache(config.credentials, { client: fn.secrets }),
        backoff: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
      }),
    );
    server = await startApiServer(handleApiRequest(api));
  });
  afterAll(async () => {
    await server.close();
    await wavy.stop();
  });

  it("copies the CSV byte for byte, with the secret read from Secrets Manager", async () => {
    const { status, json } = await call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(json).toMatchObject({ rows: 2, bytes: SMALL.length, sha256: sha256(SMALL) });
    expect((await stored(String(json.key))).toString()).toBe(SMALL);
    expect(await keys(`manifests/${json.exportId}.json`)).toHaveLength(1);
    expect(wavy.sessionCalls().at(-1)?.headers.authenticationtoken).toBe("sim-token");
  });

  it("stores a CSV past 5 MiB by multipart upload and leaves no upload open", async () => {
    const { status, json } = await call("POST", "/exports", { customerId: "7" });

    expect(status).toBe(201);
    expect(json.sha256).toBe(sha256(LARGE));
    expect(sha256(await stored(String(json.key)))).toBe(sha256(LARGE));
    expect(await openUploads()).toEqual([]);
  });

  it("aborts the multipart upload when the download breaks: no object, no open upload", async () => {
    const before = await keys("exports/");
    const head = Buffer.from(LARGE.slice(0, 11 * MiB));
    wavy.linkTo(
      wavy.serveFile((_req, res) => {
        res.writeHead(200, { "content-length": String(LARGE.length) });
        res.write(head, () => setTimeout(() => res.destroy(), 100));
      }),
    );

    const { status, json } = await call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_ERROR" } });
    expect(await openUploads()).toEqual([]);
    expect(await keys("exports/")).toEqual(before);
  });

  it("answers a retried Idempotency-Key with the same export, calling Wavy once", async () => {
    const calls = wavy.sessionCalls().length;
    const headers = { "Idempotency-Key": "moto-nightly-42" };

    const first = await call("POST", "/exports", { customerId: "42" }, headers);
    const again = await call("POST", "/exports", { customerId: "42" }, headers);
    const otherBody = await call("POST", "/exports", { customerId: "43" }, headers);

    expect(first.status).toBe(201);
    expect(again.json.exportId).toBe(first.json.exportId);
    expect(otherBody.status).toBe(400);
    expect(wavy.sessionCalls().length - calls).toBe(1);
    expect(await keys("idempotency/")).not.toEqual([]);
  });

  it("hands out a presigned URL that downloads the exact bytes", async () => {
    const { json } = await call("POST", "/exports", { customerId: "7" });

    const download = await withoutAuth(world, async () => {
      const response = await fetch(String(json.downloadUrl));
      return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
    });

    expect(download.status).toBe(200);
    expect(sha256(download.bytes)).toBe(sha256(LARGE));
  });

  it("writes the closing-soon list with the role's grants, and no companion (issue 19)", async () => {
    const { status, json } = await call("GET", "/sessions/closing?customerId=7&withinMinutes=1440");

    expect(status, JSON.stringify(json)).toBe(200);
    // The companion is the companion function's, built after; the list's presigned URL works.
    expect(await keys(String(json.sessionsKey))).toHaveLength(0);
    const closing = json.closing as { key: string; count: number; downloadUrl: string };
    const download = await withoutAuth(world, async () => {
      const response = await fetch(closing.downloadUrl);
      return { status: response.status, text: await response.text() };
    });
    expect(download.status).toBe(200);
    expect(download.text.split("\n")[0]).toBe("source;closes_at");
    expect(download.text.trim().split("\n")).toHaveLength(closing.count + 1);
    expect(await openUploads()).toEqual([]);
  });

  it("re-reads the secret after Wavy's 401 and exports with the rotated one", async () => {
    await call("POST", "/exports", { customerId: "42" });
    await admin.secrets.send(
      new PutSecretValueCommand({
        SecretId: world.secretArn,
        SecretString: JSON.stringify({ userName: "sim-user", authenticationToken: "rotated" }),
      }),
    );
    wavy.credentials = { userName: "sim-user", authenticationToken: "rotated" };

    const { status } = await call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(
      wavy
        .sessionCalls()
        .slice(-2)
        .map((c) => c.headers.authenticationtoken),
    ).toEqual(["sim-token", "rotated"]);
  });
});
