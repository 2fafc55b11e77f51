import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { localIdentity } from "../../dev/api-gateway.js";

/**
 * The events the functions receive, built in one place so every test hands a handler the same
 * shape AWS does.
 */

/** Header or query values: a name with several values is one that came more than once. */
export type ParameterInput =
  | ReadonlyArray<readonly [string, string]>
  | Readonly<Record<string, string | readonly string[]>>;

export interface ApiEventInput {
  method?: string;
  path: string;
  /** The body as API Gateway passes it: text, or base64 with `isBase64Encoded`. */
  body?: string | null;
  isBase64Encoded?: boolean;
  headers?: ParameterInput;
  query?: ParameterInput;
}

/**
 * An API Gateway REST API proxy event (payload format 1.0), as the Lambda proxy integration
 * hands it over (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html,
 * "Input format of a Lambda function for proxy integration"): every header and query parameter
 * in both the single-value map (the last value of a repeated name) and the multi-value map (all
 * of them, in order); both query maps null when there is no query string. The path keeps its
 * percent-escapes, as API Gateway's does.
 */
export function apiEvent(input: ApiEventInput): APIGatewayProxyEvent {
  const method = input.method ?? "GET";
  const headers = group(input.headers ?? []);
  const query = group(input.query ?? []);
  const hasQuery = Object.keys(query.multi).length > 0;
  return {
    httpMethod: method,
    path: input.path,
    resource: input.path,
    body: input.body ?? null,
    isBase64Encoded: input.isBase64Encoded ?? false,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: hasQuery ? query.single : null,
    multiValueQueryStringParameters: hasQuery ? query.multi : null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: "000000000000",
      apiId: "test",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: method,
      identity: { ...localIdentity("127.0.0.1"), userAgent: "test" },
      path: input.path,
      stage: "test",
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: "test",
      resourcePath: input.path,
    },
  };
}

function group(input: ParameterInput): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const entries: Array<readonly [string, string]> = Array.isArray(input)
    ? input
    : Object.entries(input).flatMap(([name, value]) =>
        typeof value === "string" ? [[name, value] as const] : value.map((v) => [name, v] as const),
      );
  const all = new Map<string, string[]>();
  for (const [name, value] of entries) all.set(name, [...(all.get(name) ?? []), value]);
  // Object.fromEntries, like API Gateway's JSON, makes "__proto__" an own key, not a prototype.
  return {
    single: Object.fromEntries([...all].map(([name, values]) => [name, values.at(-1) ?? ""])),
    multi: Object.fromEntries(all),
  };
}

/**
 * The counter's event, as each EventBridge Scheduler schedule delivers its input
 * (docs/contract.md, "Handlers"; infra/constructs/session-counter.ts's counterEvent writes the
 * schedule's input the same way): `subAccountId` only when there is one.
 */
export function counterEvent(
  customerId: string,
  subAccountId?: string,
): { customerId: string; subAccountId?: string } {
  return subAccountId === undefined ? { customerId } : { customerId, subAccountId };
}
