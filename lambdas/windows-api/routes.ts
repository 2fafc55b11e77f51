import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { jsonResponse } from "../export-sessions/http.js";
import { refuseUnknownParameters, singleQueryValues } from "../export-sessions/query.js";
import { WINDOW_LOOKUP } from "../lib/contract.js";
import { InvalidRequestError, MethodNotAllowedError, NotFoundError } from "../lib/errors.js";
import { quotedName } from "../lib/ids.js";
import { windowsClosingSoon, windowsOfDestination } from "../lib/windows/lookup.js";
import type { WindowStore } from "../lib/windows/window-store.js";

/**
 * The live windows' lookups (docs/contract.md, "Live windows", "Lookups"). Input is validated
 * here, before the table is read; each route then makes one store call.
 */
export interface LookupDeps {
  store: () => WindowStore;
  nowMs: () => number;
}

export async function routeLookup(
  event: APIGatewayProxyEvent,
  deps: LookupDeps,
): Promise<APIGatewayProxyResult> {
  const path =
    event.path.length > 1 && event.path.endsWith("/") ? event.path.slice(0, -1) : event.path;
  const one = /^\/windows\/([^/]+)$/.exec(path);
  if (path !== "/windows" && !one) throw new NotFoundError(`No route for ${path}`);
  if (event.httpMethod.toUpperCase() !== "GET") throw new MethodNotAllowedError(["GET"]);
  const query = singleQueryValues(event);

  if (one) {
    refuseUnknownParameters(query, ["origin"]);
    const destination = contactNumber("destination", decodeSegment(one[1] ?? ""));
    const origin = query.origin === undefined ? undefined : contactNumber("origin", query.origin);
    const store = deps.store();
    return jsonResponse(
      200,
      await windowsOfDestination(destination, origin, { store, nowMs: deps.nowMs }),
    );
  }

  refuseUnknownParameters(query, ["origin", "closingWithinMinutes", "limit", "cursor"]);
  if (query.origin === undefined) throw new InvalidRequestError("origin: is required");
  const origin = contactNumber("origin", query.origin);
  const { min, max } = WINDOW_LOOKUP.closingWithinMinutes;
  const closingWithinMinutes = wholeNumber(
    "closingWithinMinutes",
    query.closingWithinMinutes,
    min,
    max,
  );
  const limit =
    query.limit === undefined
      ? WINDOW_LOOKUP.defaultLimit
      : wholeNumber("limit", query.limit, 1, WINDOW_LOOKUP.maxLimit);
  if (query.cursor === "") throw new InvalidRequestError("cursor: must not be empty");
  const store = deps.store();
  return jsonResponse(
    200,
    await windowsClosingSoon(
      {
        origin,
        closingWithinMinutes,
        limit,
        ...(query.cursor !== undefined && { cursor: query.cursor }),
      },
      { store, nowMs: deps.nowMs },
    ),
  );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

function contactNumber(name: string, value: string): string {
  if (value.length < 1 || value.length > WINDOW_LOOKUP.maxNumberLength || CONTROL.test(value)) {
    throw new InvalidRequestError(
      `${name}: must be 1-${WINDOW_LOOKUP.maxNumberLength} characters without control characters`,
    );
  }
  return value;
}

function wholeNumber(name: string, value: string | undefined, min: number, max: number): number {
  const number =
    value !== undefined && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) {
    throw new InvalidRequestError(
      value === undefined
        ? `${name}: is required`
        : `${name}: must be a whole number from ${min} to ${max}, not ${quotedName(value)}`,
    );
  }
  return number;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError("destination: not a valid path segment");
  }
}
