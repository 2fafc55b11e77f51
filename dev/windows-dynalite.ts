import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { WINDOWS_TABLE } from "../lambdas/lib/contract.js";
import { closeServer, listenOnLoopback } from "./loopback.js";

/**
 * An in-process DynamoDB (dynalite: the DynamoDB JSON protocol over HTTP, in memory) on loopback,
 * with issue 20's windows table, so the real @aws-sdk/client-dynamodb and lib-dynamodb talk to
 * it. It enforces condition expressions, index queries, Limit before FilterExpression and
 * ReturnConsumedCapacity as DynamoDB documents them.
 */
export class WindowsDynalite {
  endpoint = "";
  private server: ReturnType<typeof dynalite> | undefined;

  async start(port = 0): Promise<this> {
    this.server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    this.endpoint = await listenOnLoopback(this.server, port);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.endpoint,
      region: process.env.AWS_REGION ?? "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  }

  documentClient(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(this.client(), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /** The table as issue 20's stack creates it: keys, the closing index (projection ALL). */
  async createWindowsTable(tableName: string): Promise<string> {
    const client = this.client();
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: WINDOWS_TABLE.partitionKey, AttributeType: "S" },
            { AttributeName: WINDOWS_TABLE.sortKey, AttributeType: "S" },
            { AttributeName: WINDOWS_TABLE.closingIndexSortKey, AttributeType: "S" },
          ],
          KeySchema: [
            { AttributeName: WINDOWS_TABLE.partitionKey, KeyType: "HASH" },
            { AttributeName: WINDOWS_TABLE.sortKey, KeyType: "RANGE" },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: WINDOWS_TABLE.closingIndex,
              KeySchema: [
                { AttributeName: WINDOWS_TABLE.sortKey, KeyType: "HASH" },
                { AttributeName: WINDOWS_TABLE.closingIndexSortKey, KeyType: "RANGE" },
              ],
              Projection: { ProjectionType: "ALL" },
            },
          ],
        }),
      );
    } finally {
      client.destroy();
    }
    return tableName;
  }
}
