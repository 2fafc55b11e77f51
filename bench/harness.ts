import { type ChildProcess, fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { DeleteObjectsCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { localS3ClientConfig } from "../dev/local-s3.js";
import { loopbackCertificate } from "../dev/tls-front.js";
import { readConfig } from "../infra/config.js";
import { EXPORT_PROCESS_ENVIRONMENT } from "../lambdas/lib/contract.js";
import { type ChildFigures, RESULT_PREFIX } from "./children/measure.js";
import type { CsvFile } from "./data.js";
import { lambdaNodeArgs } from "./lambda-runtime.js";
import { fixed, MB } from "./stats.js";

/** The servers in their own processes, and one child process per measured run. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const BUCKET = "wavy-bench";

export const log = (line: string) => console.error(`[bench] ${line}`);

// What every child gets, as a Lambda function would. The export's own process settings
// (EXPORT_PROCESS_ENVIRONMENT: its NODE_OPTIONS, so no --enable-source-maps, and its malloc
// arena) go to the export alone; the bare pipe and the worker have none.
export const LAMBDA_ENV = {
  AWS_REGION: "us-east-1",
  AWS_LAMBDA_FUNCTION_NAME: "bench",
  POWERTOOLS_LOG_LEVEL: "WARN",
};

/** The stack's default memory sizes: what Lambda's runtime sizes V8's heap from (lambda-runtime.ts). */
export const FUNCTION_MEMORY_MB = (() => {
  const { exportMemoryMb, exportWorkerMemoryMb } = readConfig(() => undefined);
  return { export: exportMemoryMb, worker: exportWorkerMemoryMb };
})();

/**
 * How the export reaches Wavy and S3. `tls`, as deployed: HTTPS on both sides (the certificate
 * trusted through NODE_EXTRA_CA_CERTS) and the S3 client with the SDK's default checksums,
 * exactly as the function builds it. `http`: plain HTTP and the local S3's WHEN_REQUIRED
 * checksums, the bench's setting before TLS was measured, kept so the TLS cost shows.
 */
export type Transport = "tls" | "http";
export const TRANSPORTS: readonly Transport[] = ["tls", "http"];

interface Endpoints {
  wavyBaseUrl: string;
  s3Endpoint: string;
}

export interface Servers {
  endpoints: Record<Transport, Endpoints>;
  credentials: { userName: string; authenticationToken: string };
  /** The PEM file the children trust (NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Reads back what is stored (plain HTTP, no checksum validation: the bytes as kept). */
  s3: S3Client;
  serve(file: string, link: boolean, transport: Transport): Promise<string>;
  stop(): void;
}

export interface CertificateFiles {
  keyFile: string;
  certFile: string;
}

/** A fresh self-signed certificate for 127.0.0.1 each run, as PEM files the children can read. */
export async function certificateFiles(dir: string): Promise<CertificateFiles> {
  mkdirSync(dir, { recursive: true });
  const { key, cert } = await loopbackCertificate();
  const files = { keyFile: join(dir, "key.pem"), certFile: join(dir, "cert.pem") };
  writeFileSync(files.keyFile, key, { mode: 0o600 });
  writeFileSync(files.certFile, cert);
  return files;
}

export async function startServers(tls: CertificateFiles): Promise<Servers> {
  const tsx = {
    execArgv: ["--import", "tsx"],
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_BUCKET: BUCKET,
      BENCH_TLS_KEY: tls.keyFile,
      BENCH_TLS_CERT: tls.certFile,
    },
  };
  const wavy = fork(join(ROOT, "bench/servers/wavy.ts"), tsx);
  const s3server = fork(join(ROOT, "bench/servers/s3.ts"), tsx);
  const [wavyReady] = (await once(wavy, "message")) as [
    { baseUrl: string; tlsBaseUrl: string; credentials: Servers["credentials"] },
  ];
  const [s3Ready] = (await once(s3server, "message")) as [
    { endpoint: string; tlsEndpoint: string },
  ];
  log(
    `Wavy simulator at ${wavyReady.baseUrl} and ${wavyReady.tlsBaseUrl} (pid ${wavy.pid}), ` +
      `S3 at ${s3Ready.endpoint} and ${s3Ready.tlsEndpoint} (pid ${s3server.pid})`,
  );
  let nextId = 0;
  return {
    endpoints: {
      http: { wavyBaseUrl: wavyReady.baseUrl, s3Endpoint: s3Ready.endpoint },
      tls: { wavyBaseUrl: wavyReady.tlsBaseUrl, s3Endpoint: s3Ready.tlsEndpoint },
    },
    credentials: wavyReady.credentials,
    caFile: tls.certFile,
    s3: new S3Client({
      ...localS3ClientConfig(s3Ready.endpoint),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
    serve: async (file, link, transport) => {
      const id = nextId++;
      const answer = waitForMessage(wavy, (m: { id?: number }) => m.id === id);
      wavy.send({ id, file, link, tls: transport === "tls" });
      return ((await answer) as { url: string }).url;
    },
    stop: () => {
      wavy.disconnect();
      s3server.disconnect();
    },
  };
}

function waitForMessage(child: ChildProcess, match: (message: never) => boolean): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      if (!match(message as never)) return;
      child.off("message", listener);
      resolve(message);
    };
    child.on("message", listener);
  });
}

export function childEnv(servers: Servers, transport: Transport): NodeJS.ProcessEnv {
  const { wavyBaseUrl, s3Endpoint } = servers.endpoints[transport];
  const asDeployed =
    transport === "tls"
      ? { NODE_EXTRA_CA_CERTS: servers.caFile }
      : {
          AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
          AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
        };
  return {
    PATH: process.env.PATH,
    ...LAMBDA_ENV,
    ...asDeployed,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    // Local S3 servers only speak path-style; the deployed function uses virtual-hosted names.
    S3_FORCE_PATH_STYLE: "true",
    EXPORT_BUCKET: BUCKET,
    WAVY_USER_NAME: servers.credentials.userName,
    WAVY_AUTH_TOKEN: servers.credentials.authenticationToken,
    WAVY_API_URL: wavyBaseUrl,
    WAVY_DOWNLOAD_ORIGINS: wavyBaseUrl,
  };
}

/**
 * One measured run in a fresh Node started as Lambda's runtime starts a function of
 * `memoryMb` (its flags first, then the bench's own `execArgv`, such as --cpu-prof).
 */
export async function runChild(
  script: string,
  env: NodeJS.ProcessEnv,
  execArgv: string[] = [],
  memoryMb = FUNCTION_MEMORY_MB.export,
): Promise<ChildFigures> {
  const runtimeArgs = lambdaNodeArgs(memoryMb, env.NODE_OPTIONS);
  const child = spawn(process.execPath, [...runtimeArgs, ...execArgv, script], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "close")) as [number | null];
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) {
    throw new Error(`${script} exited ${code}\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildFigures;
}

export interface RunOptions {
  transport: Transport;
  execArgv?: string[];
  extraEnv?: NodeJS.ProcessEnv;
}

export async function runExport(
  servers: Servers,
  script: string,
  file: CsvFile,
  run: number,
  { transport, execArgv = [], extraEnv = {} }: RunOptions,
): Promise<ChildFigures> {
  await servers.serve(file.path, true, transport);
  const figures = await runChild(
    script,
    { ...childEnv(servers, transport), ...EXPORT_PROCESS_ENVIRONMENT, ...extraEnv },
    execArgv,
  );
  const { key, exportId, rows, bytes, sha256 } = figures.detail as {
    key: string;
    exportId: string;
    rows: number;
    bytes: number;
    sha256: string;
  };
  if (rows !== file.rows || bytes !== file.bytes || sha256 !== file.sha256) {
    throw new Error(`export of ${file.path} reported ${rows} rows ${bytes} B ${sha256}`);
  }
  await verifyAndRemove(servers, key, file, [`manifests/${exportId}.json`]);
  log(
    `export ${transport} ${fixed(file.bytes / MB, 0)} MB #${run + 1}: ${fixed(figures.wallMs, 0)} ms, ` +
      `cpu ${fixed(figures.cpuUserMs + figures.cpuSystemMs, 0)} ms (sys ${fixed(figures.cpuSystemMs, 0)}), peak RSS ${fixed(figures.peakRssMb)} MB`,
  );
  return figures;
}

export async function runBaseline(
  servers: Servers,
  script: string,
  file: CsvFile,
  run: number,
  { transport, execArgv = [], extraEnv = {} }: RunOptions,
): Promise<ChildFigures> {
  const url = await servers.serve(file.path, false, transport);
  const key = `baseline/${run}.csv`;
  const figures = await runChild(
    script,
    {
      // None of the export function's process settings: they are no part of the bare pipe's
      // definition (node:https → lib-storage, same TLS, part size and queue), so they cannot
      // flatter the ratio. It runs as Lambda runs a function without any: on the runtime's own
      // heap flags.
      ...childEnv(servers, transport),
      ...extraEnv,
      BENCH_FILE_URL: url,
      BENCH_KEY: key,
    },
    execArgv,
  );
  await verifyAndRemove(servers, key, file, []);
  log(
    `baseline ${transport} ${fixed(file.bytes / MB, 0)} MB #${run + 1}: ${fixed(figures.wallMs, 0)} ms, ` +
      `cpu ${fixed(figures.cpuUserMs + figures.cpuSystemMs, 0)} ms (sys ${fixed(figures.cpuSystemMs, 0)}), peak RSS ${fixed(figures.peakRssMb)} MB`,
  );
  return figures;
}

/** The stored object itself, read back through S3, must hash to the source's sha256. */
async function verifyAndRemove(
  servers: Servers,
  key: string,
  file: CsvFile,
  alsoRemove: string[],
): Promise<void> {
  const object = await servers.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of object.Body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const stored = hash.digest("hex");
  if (stored !== file.sha256 || bytes !== file.bytes) {
    throw new Error(
      `stored ${key} is ${bytes} B ${stored}, expected ${file.bytes} B ${file.sha256}`,
    );
  }
  await servers.s3.send(
    new DeleteObjectsCommand({
      Bucket: BUCKET,
      Delete: { Objects: [key, ...alsoRemove].map((Key) => ({ Key })) },
    }),
  );
}
