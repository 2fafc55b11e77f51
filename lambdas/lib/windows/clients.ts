import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * The DynamoDB client of the functions that read or write the windows' table, created once per
 * execution environment. The endpoint comes from the SDK's own AWS_ENDPOINT_URL_DYNAMODB when a
 * local run sets it (dynalite); nothing here is local-only.
 */
export function windowsTableClient(): DynamoDBClient {
  return new DynamoDBClient({});
}
