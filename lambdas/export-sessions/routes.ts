import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import {
  CLOSING_WINDOW_MINUTES,
  EXPORT_ID_PATTERN,
  EXPORT_STATUS,
  IDEMPOTENCY_KEY_PATTERN,
} from "../lib/contract.js";
import { InvalidRequestError, MethodNotAllowedError, NotFoundError } from "../lib/errors.js";
import type { ExportService } from "../lib/exports-aws/export-service.js";
import {
  describeIssues,
  type SessionTarget,
  SessionTargetBodySchema,
  SessionTargetSchema,
} from "../lib/ids.js";
import { parseHistoryQuery } from "./history-query.js";
import { exportCreatedResponse, jsonResponse, parseJsonBody } from "./http.js";
import { prefersRespondAsync } from "./prefer.js";
import { refuseMiscasedIds, refuseUnknownParameters, singleQueryValues } from "./query.js";

type Route = {
  pattern: RegExp;
  methods: Record<
    string,
    (
      event: APIGatewayProxyEvent,
      match: RegExpExecArray,
      api: () => ExportService,
    ) => Promise<APIGatewayProxyResult>
  >;
};

/**
 * Hand-rolled rather than @middy/http-router: the contract wants 405 with an Allow header and
 * its own error envelope for unknown routes, which that router does not give.
 * Input is validated before the API is built, so a bad request never touches Wavy or S3.
 */
const ROUTES: Route[] = [
  {
    pattern: /^\/exports$/,
    methods: {
      GET: async (event, _match, api) => {
        const query = parseHistoryQuery(singleQueryValues(event));
        return jsonResponse(200, await api().listExports(query));
      },
      POST: async (event, _match, api) => {
        const idempotencyKey = idempotencyKeyOf(event);
        const respondAsync = prefersRespondAsync(event);
        const target = parseTarget(parseJsonBody(event), "body", SessionTargetBodySchema);
        let replayed = false;
        const onReplay = () => {
          replayed = true;
        };
        const document = await api().createExport(target, {
          idempotencyKey,
          respondAsync,
          onReplay,
        });
        return exportCreatedResponse(event, document, { respondAsync, replayed });
      },
    },
  },
  {
    pattern: /^\/exports\/([^/]+)$/,
    methods: {
      GET: async (_event, match, api) => {
        const exportId = decodeSegment(match[1] ?? "");
        if (!EXPORT_ID_PATTERN.test(exportId)) {
          throw new InvalidRequestError(
            "exportId must be 1-128 characters of A-Z, a-z, 0-9, _ and -",
          );
        }
        return jsonResponse(200, await api().readExport(exportId));
      },
    },
  },
  {
    pattern: /^\/v1\/session$/,
    methods: {
      GET: async (event, _match, api) => {
        const query = singleQueryValues(event);
        refuseMiscasedIds(query);
        const target = parseTarget(query, "query", SessionTargetSchema);
        const document = await api().createExport(target);
        const fileUrl = document.status === EXPORT_STATUS.succeeded ? document.downloadUrl : null;
        return jsonResponse(200, { file_url: fileUrl, ...document });
      },
    },
  },
  {
    pattern: /^\/sessions\/closing$/,
    methods: {
      GET: async (event, _match, api) => {
        const query = singleQueryValues(event);
        refuseUnknownParameters(query, ["customerId", "subAccountId", "withinMinutes"]);
        const { withinMinutes, ...ids } = query;
        const window = parseWithinMinutes(withinMinutes);
        const target = parseTarget(ids, "query", SessionTargetSchema);
        return jsonResponse(200, await api().closingSessions(target, window));
      },
    },
  },
];

export async function routeRequest(
  event: APIGatewayProxyEvent,
  api: () => ExportService,
): Promise<APIGatewayProxyResult> {
  const path = normalisePath(event.path);
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const action = route.methods[event.httpMethod.toUpperCase()];
    if (!action) throw new MethodNotAllowedError(Object.keys(route.methods));
    return action(event, match, api);
  }
  throw new NotFoundError(`No route for ${path}`);
}

function parseTarget(
  input: unknown,
  where: "body" | "query",
  schema: typeof SessionTargetSchema | typeof SessionTargetBodySchema,
): SessionTarget {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InvalidRequestError(`The request ${where} must be a JSON object with customerId`);
  }
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidRequestError(describeIssues(result.error));
  return result.data;
}

/** withinMinutes: a whole number of minutes, 1-1440 (a session's whole 24 h window at most). */
function parseWithinMinutes(value: string | undefined): number {
  const { min, max } = CLOSING_WINDOW_MINUTES;
  const minutes = value !== undefined && /^[1-9][0-9]{0,3}$/.test(value) ? Number(value) : NaN;
  if (!(minutes >= min && minutes <= max)) {
    throw new InvalidRequestError(
      `withinMinutes: ${value === undefined ? "is required" : `must be a whole number of minutes from ${min} to ${max}`}`,
    );
  }
  return minutes;
}

/** The Idempotency-Key header (any case), checked before anything is called; absent is fine. */
function idempotencyKeyOf(event: APIGatewayProxyEvent): string | undefined {
  const values: string[] = [];
  for (const [name, value] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() === "idempotency-key") values.push(...(value ?? []));
  }
  if (values.length === 0) {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (name.toLowerCase() === "idempotency-key" && value !== undefined) values.push(value);
    }
  }
  if (values.length === 0) return undefined;
  const [key] = values;
  if (values.length > 1 || key === undefined || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new InvalidRequestError(
      "Idempotency-Key must be one value of 1-128 characters of A-Z, a-z, 0-9, _, -, . and :",
    );
  }
  return key;
}

function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError("exportId is not a valid path segment");
  }
}
