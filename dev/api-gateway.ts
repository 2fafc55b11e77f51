import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { type WEBHOOK_KIND, WEBHOOK_MAX_BODY_BYTES } from "../lambdas/lib/contract.js";

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Largest request body accepted locally; API Gateway's own limit is 10 MB. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A stand-in for API Gateway on loopback: each HTTP request becomes a REST proxy event
 * (payload v1) for the very handler that runs in Lambda, and its result becomes the answer.
 */
export async function startApiServer(
  handler: ProxyHandler,
  port = 0,
  host = "127.0.0.1",
  options: ApiServerOptions = {},
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    const started = performance.now();
    const path = new URL(req.url ?? "/", "http://local").pathname;
    if (options.onResponse) {
      const report = options.onResponse;
      res.once("finish", () =>
        report({
          method: req.method ?? "GET",
          path,
          status: res.statusCode,
          ms: performance.now() - started,
        }),
      );
    }
    try {
      const hook = options.webhooks && WEBHOOK_PATH.exec(path);
      if (options.webhooks && hook) {
        await ingestWebhook(req, res, options.webhooks, hook[1] ?? "", hook[2] as WebhookKind);
        return;
      }
      const route = options.routes?.find((candidate) => candidate.pattern.test(path));
      const event = await toProxyEvent(req);
      const result = await (route?.handler ?? handler)(event);
      const headers = { ...result.headers, ...flattenMulti(result.multiValueHeaders) };
      res.writeHead(result.statusCode, headers as Record<string, string>);
      res.end(result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body);
    } catch (error) {
      const tooLarge = error instanceof RequestTooLarge;
      res.writeHead(tooLarge ? 413 : 500, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: {
            code: tooLarge ? "INVALID_REQUEST" : "INTERNAL",
            message: tooLarge ? "Request body too large" : "Internal error",
          },
        }),
      );
    }
  });
  server.listen(port, host);
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class RequestTooLarge extends Error {}

type WebhookKind = (typeof WEBHOOK_KIND)[keyof typeof WEBHOOK_KIND];

/**
 * Wavy's webhook routes as the deployed API serves them (docs/contract.md, "Live windows"): no
 * function between the request and the 200, only the token check, the size limit and the
 * enqueue, as API Gateway's SQS integration does.
 */
export interface WebhookIngest {
  token: string;
  /** SendMessage: the body exactly as received, with the `kind` attribute. */
  enqueue: (body: string, attributes: { kind: WebhookKind }) => void;
  maxBodyBytes?: number;
}

export interface ApiServerOptions {
  webhooks?: WebhookIngest;
  /** Paths served by another function of the same API (the lookups), first match wins. */
  routes?: { pattern: RegExp; handler: ProxyHandler }[];
  /** Told of every answered request once its last byte is written (npm start's request log). */
  onResponse?: (request: { method: string; path: string; status: number; ms: number }) => void;
}

const WEBHOOK_PATH = /^\/hooks\/wavy\/([^/]+)\/(mo|status)\/?$/;

async function ingestWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  ingest: WebhookIngest,
  token: string,
  kind: WebhookKind,
): Promise<void> {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };
  const refuse = (
    status: number,
    code: string,
    message: string,
    headers?: Record<string, string>,
  ) => {
    answer(status, { error: { code, message } }, headers);
    // Whatever is left of the body is read and dropped, never stored.
    req.resume();
  };
  if (req.method !== "POST") {
    refuse(405, "METHOD_NOT_ALLOWED", "Method not allowed; use POST", { Allow: "POST" });
    return;
  }
  if (!sameToken(token, ingest.token)) {
    refuse(403, "ACCESS_DENIED", "Forbidden");
    return;
  }
  const limit = ingest.maxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES;
  const tooLarge = () => refuse(413, "PAYLOAD_TOO_LARGE", `The body is over ${limit} bytes`);
  if (Number(req.headers["content-length"] ?? 0) > limit) {
    tooLarge();
    return;
  }
  // Read to the end even past the limit (the rest is dropped), so the client sees the 413
  // rather than a reset connection while it is still sending.
  const body = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
  if (body === undefined) {
    tooLarge();
    return;
  }
  // SQS keeps text only; invalid UTF-8 becomes U+FFFD there too.
  ingest.enqueue(body.toString("utf-8"), { kind });
  answer(200, { accepted: true });
}

/** Compared in constant time, so the answer's timing says nothing about the token. */
function sameToken(given: string, expected: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(given);
  } catch {
    return false;
  }
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(decoded), digest(expected));
}

async function toProxyEvent(req: IncomingMessage): Promise<APIGatewayProxyEvent> {
  const url = new URL(req.url ?? "/", "http://local");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RequestTooLarge();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const isText = body.length === 0 || isUtf8(body);

  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(",");
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = url.searchParams.size > 0;
  const requestId = randomUUID();
  return {
    resource: url.pathname,
    // API Gateway hands the handler the path as sent, percent-escapes intact; so do we.
    path: url.pathname,
    httpMethod: req.method ?? "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: null,
    stageVariables: null,
    body: body.length === 0 ? null : isText ? body.toString("utf-8") : body.toString("base64"),
    isBase64Encoded: !isText,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: req.method ?? "GET",
      identity: localIdentity(req.socket.remoteAddress ?? "127.0.0.1"),
      path: url.pathname,
      stage: "local",
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: url.pathname,
    },
  };
}

function isUtf8(buffer: Buffer): boolean {
  return Buffer.from(buffer.toString("utf-8"), "utf-8").equals(buffer);
}

function flattenMulti(headers: APIGatewayProxyResult["multiValueHeaders"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, values] of Object.entries(headers ?? {}))
    flat[name] = values.map(String).join(", ");
  return flat;
}

/** The identity API Gateway passes for a caller with none (no Cognito, no API key). */
export function localIdentity(
  sourceIp: string,
): APIGatewayProxyEvent["requestContext"]["identity"] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: null,
    userArn: null,
  };
}
