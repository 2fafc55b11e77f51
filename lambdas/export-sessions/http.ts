import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { ContractError, errorName, InternalError, InvalidRequestError } from "../lib/errors.js";
import { logger } from "../lib/logger.js";

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
};

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
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
