import type { APIGatewayProxyEvent } from "aws-lambda";
import { InvalidRequestError } from "../lib/errors.js";
import { quotedName } from "../lib/ids.js";

/** The target's names in a query. */
const ID_PARAMETERS = ["customerId", "subAccountId"] as const;

/** Query parameters as single values; a repeated one is ambiguous and refused. */
export function singleQueryValues(event: APIGatewayProxyEvent): Record<string, string> {
  const values: Record<string, string> = {};
  const multi = event.multiValueQueryStringParameters ?? {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if ((multi[name]?.length ?? 1) > 1) {
      throw new InvalidRequestError(`${name} is given more than once`);
    }
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/**
 * This API's own routes take only the parameters they name (docs/contract.md, "HTTP API"): a
 * typo such as `subaccountId` must be refused, not ignored into an export of the whole customer.
 */
export function refuseUnknownParameters(
  query: Record<string, string>,
  known: readonly string[],
): void {
  const unknown = Object.keys(query).find((name) => !known.includes(name));
  if (unknown === undefined) return;
  const takes = `${known.slice(0, -1).join(", ")} and ${known.at(-1)}`;
  throw new InvalidRequestError(
    `Unknown query parameter ${quotedName(unknown)}: the query takes ${takes}`,
  );
}

/** `sub_account_id`, `SubAccountID`, `sub-account-id` and `subaccountid` all read as one name. */
const folded = (name: string) => name.toLowerCase().replace(/[_-]/g, "");

/**
 * The Wavy drop-in ignores parameters it does not know, as a drop-in must, except a near miss of
 * an id's name (another case, `_` or `-` between its words: `sub_account_id=7`): that can only be
 * a typo, and ignoring it would widen the export to the whole customer.
 */
export function refuseMiscasedIds(query: Record<string, string>): void {
  for (const name of Object.keys(query)) {
    const meant = ID_PARAMETERS.find((id) => folded(id) === folded(name));
    if (meant !== undefined && meant !== name) {
      throw new InvalidRequestError(
        `Unknown query parameter ${quotedName(name)}: did you mean ${meant}?`,
      );
    }
  }
}
