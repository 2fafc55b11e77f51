import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

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
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    try {
      const event = await toProxyEvent(req);
      const result = await handler(event);
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
