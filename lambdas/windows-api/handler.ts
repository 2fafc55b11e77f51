import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

/** Placeholder so that the stack synthesises on the stack-side branch; D's handler replaces it at merge. */
export async function handler(_event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  throw new Error("windows-api placeholder: not implemented on this branch");
}
