import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { EXPORT_STATUS } from "../lib/contract.js";
import { ContractError, errorName, InternalError, InvalidRequestError } from "../lib/errors.js";
import type { ExportDocument } from "../lib/exports/export-document.js";
import { logger } from "../lib/logger.js";

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
};

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/**
 * POST /exports' answer (docs/contract.md, "HTTP API"): 202 while the export is running, 201 once
 * it has ended, each with the export's Location as the caller reached it. Preference-Applied
 * tells a caller that asked for respond-async that it got it (RFC 7240, section 3);
 * Idempotent-Replayed that the export is an earlier request's (docs/contract.md, "Idempotency").
 */
export function exportCreatedResponse(
  event: APIGatewayProxyEvent,
  document: ExportDocument,
  { respondAsync, replayed = false }: { respondAsync: boolean; replayed?: boolean },
): APIGatewayProxyResult {
  const running = document.status === EXPORT_STATUS.running;
  const response = jsonResponse(running ? 202 : 201, document);
  response.headers = {
    ...response.headers,
    Location: `${basePathOf(event)}/exports/${document.exportId}`,
    ...(running && respondAsync && { "Preference-Applied": "respond-async" }),
    ...(replayed && { "Idempotent-Replayed": "true" }),
  };
  return response;
}

/**
 * The part of the path in front of the route: API Gateway's stage (`/prod`) or a custom
 * domain's base path, which requestContext.path carries and event.path does not.
 */
function basePathOf(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path ?? event.path;
  return full.endsWith(event.path) ? full.slice(0, full.length - event.path.length) : "";
}

/**
 * The one place errors become HTTP: the contract's envelope with the error's own status, code
 * and headers. Anything that is not a ContractError is a bug: it is logged and answered as a
 * bare INTERNAL, so no internals reach the caller.
 */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  if (!(error instanceof ContractError)) {
    // Name and stack frames only: a message from a library could quote request details.
    logger.error("Unexpected error", {
      errorName: errorName(error),
      frames: error instanceof Error ? error.stack?.split("\n").slice(1, 8).join("\n") : undefined,
    });
  }
  const contractError =
    error instanceof ContractError ? error : new InternalError("Internal error");
  if (contractError.operatorMessage) logger.error(contractError.operatorMessage);
  const response = jsonResponse(contractError.status, {
    error: { code: contractError.code, message: contractError.publicMessage },
  });
  response.headers = { ...response.headers, ...contractError.headers };
  return response;
}

/** The request body as JSON, whether API Gateway passed it as text or base64. */
export function parseJsonBody(event: APIGatewayProxyEvent): unknown {
  if (event.body === null || event.body === undefined || event.body === "") {
    throw new InvalidRequestError("The request body must be a JSON object");
  }
  const text = event.isBase64Encoded
    ? Buffer.from(event.body, "base64").toString("utf-8")
    : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError("The request body is not valid JSON");
  }
}
