import { HISTORY_PAGE } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import type { HistoryQuery } from "../lib/exports/history.js";
import { describeIssues, SessionTargetSchema } from "../lib/ids.js";
import { refuseUnknownParameters } from "./query.js";

const KNOWN = ["customerId", "subAccountId", "from", "to", "limit", "cursor"];
// ISO-8601 with a zone, as the documents write them; a bare date or a zone-less time is ambiguous.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** GET /exports' query (docs/contract.md, "Run history"); anything off is a 400 naming it. */
export function parseHistoryQuery(query: Record<string, string>): HistoryQuery {
  refuseUnknownParameters(query, KNOWN);
  const target = SessionTargetSchema.safeParse({
    customerId: query.customerId,
    ...(query.subAccountId !== undefined && { subAccountId: query.subAccountId }),
  });
  if (!target.success) throw new InvalidRequestError(describeIssues(target.error));
  const from = time(query.from, "from");
  const to = time(query.to, "to");
  if (from && to && from.getTime() > to.getTime()) {
    throw new InvalidRequestError("from must not be after to");
  }
  let limit: number = HISTORY_PAGE.defaultLimit;
  if (query.limit !== undefined) {
    if (!/^[1-9][0-9]{0,2}$/.test(query.limit) || Number(query.limit) > HISTORY_PAGE.maxLimit) {
      throw new InvalidRequestError(`limit must be an integer from 1 to ${HISTORY_PAGE.maxLimit}`);
    }
    limit = Number(query.limit);
  }
  if (query.cursor !== undefined && query.cursor === "") {
    throw new InvalidRequestError("cursor must not be empty");
  }
  return {
    target: target.data,
    limit,
    ...(from && { from }),
    ...(to && { to }),
    ...(query.cursor !== undefined && { cursor: query.cursor }),
  };
}

function time(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) {
    // `+03:00` unescaped in a query string arrives as " 03:00": form encoding reads "+" as a space.
    const plusAsSpace = ISO_TIME.test(value.replace(/ (\d{2}:\d{2})$/, "+$1"));
    throw new InvalidRequestError(
      plusAsSpace
        ? `${name} has a space where its offset's "+" should be: a "+" in a query string reads as a space, so write it as %2B (e.g. 2026-11-28T12:00:00%2B03:00) or use Z`
        : `${name} must be an ISO-8601 time with Z or an offset`,
    );
  }
  return new Date(parsed);
}
