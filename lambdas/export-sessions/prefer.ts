import type { APIGatewayProxyEvent } from "aws-lambda";

/**
 * Whether the request's Prefer header (RFC 7240) holds the preference `respond-async`. Several
 * Prefer headers, comma-separated preferences, any case and parameters (`respond-async; x=1`,
 * `wait=10`) are all allowed by the RFC; a preference we do not know is ignored, as it says.
 */
export function prefersRespondAsync(event: APIGatewayProxyEvent): boolean {
  const values: string[] = [];
  for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() === "prefer") values.push(...(list ?? []));
  }
  if (values.length === 0) {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (name.toLowerCase() === "prefer" && value !== undefined) values.push(value);
    }
  }
  return values
    .flatMap((value) => value.split(","))
    .some((preference) => {
      const token = preference.split(/[;=]/, 1)[0] ?? "";
      return token.trim().toLowerCase() === "respond-async";
    });
}
