/**
 * fetch() with a SigV4 signature for API Gateway's `execute-api` service: every route of the
 * deployed API is AWS_IAM, and an IAM-authorised REST API only accepts SigV4-signed requests
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
 * Shared by `npm run call` and `npm run smoke`.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

type SourceData = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (data: SourceData): Buffer =>
  typeof data === "string"
    ? Buffer.from(data, "utf8")
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** The signer's hash (plain SHA-256, or HMAC-SHA-256 with a key) from node:crypto. */
class Sha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash("sha256")
      : createHmac("sha256", toBuffer(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SigningOptions {
  region: string;
  /** The signing name of the service called: `execute-api` unless told (test/aws signs SQS's). */
  service?: string;
  credentials: ConstructorParameters<typeof SignatureV4>[0]["credentials"];
}

export interface SignedRequest {
  method: string;
  body?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `abc123.execute-api.sa-east-1.amazonaws.com` → `sa-east-1`. */
export function regionOfApiUrl(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/**
 * The route appended to the base URL's path, which carries the stage (`/prod`), with or without
 * the route's leading slash (`exports` must not become `/prodexports`).
 */
export function routeUrl(base: string, route: string): URL {
  const baseUrl = new URL(base);
  const path = route.startsWith("/") ? route : `/${route}`;
  return new URL(`${baseUrl.pathname.replace(/\/$/, "")}${path}`, baseUrl);
}

export async function signedFetch(
  url: URL,
  request: SignedRequest,
  signing: SigningOptions,
): Promise<Response> {
  const signer = new SignatureV4({
    service: signing.service ?? "execute-api",
    region: signing.region,
    credentials: signing.credentials,
    sha256: Sha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    query[key] = all.length === 1 ? (all[0] ?? "") : all;
  }
  const headers: Record<string, string> = { host: url.host, ...request.headers };
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers,
    body: request.body,
  });
  return fetch(url, {
    method: request.method,
    headers: signed.headers,
    body: request.body,
    signal: request.signal,
  });
}
