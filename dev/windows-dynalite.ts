import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { LocalDynamoDb } from "./local-dynamodb.js";

/**
 * The local DynamoDB (dev/local-dynamodb.ts: dynalite, the DynamoDB JSON protocol over HTTP, in
 * memory) with the clients window intelligence's tests, sweeper and bench use. dynalite enforces
 * condition expressions, index queries, Limit before FilterExpression and ReturnConsumedCapacity
 * as DynamoDB documents them.
 */
export class WindowsDynalite extends LocalDynamoDb {
  client(): DynamoDBClient {
    return new DynamoDBClient(this.clientConfig());
  }

  documentClient(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(this.client(), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }
}
