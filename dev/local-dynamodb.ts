import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { WINDOWS_TABLE } from "../lambdas/lib/contract.js";

/**
 * A DynamoDB-protocol server on loopback (dynalite: pure JavaScript, data in memory), for the
 * tests, `npm start` and the bench; the real AWS SDK talks to it through
 * AWS_ENDPOINT_URL_DYNAMODB. The windows' table is created with the stack's key schema and index,
 * from the same constants (lambdas/lib/contract.ts).
 */
export class LocalDynamoDb {
  endpoint = "";
  private server: Server | undefined;

  async start(port = 0): Promise<this> {
    // Tables become ACTIVE at once instead of after dynalite's simulated 500 ms.
    this.server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  clientConfig(): DynamoDBClientConfig {
    return {
      endpoint: this.endpoint,
      region: process.env.AWS_REGION ?? "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    };
  }

  client(): DynamoDBClient {
    return new DynamoDBClient(this.clientConfig());
  }

  /** For tests that read or write items directly. */
  documentClient(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(this.client(), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /** The windows' table as infra/ creates it: keys, the byOriginClosesAt index, TTL. */
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
      // dynalite does not expire items; the call is made so the table matches the stack's.
      await client
        .send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: WINDOWS_TABLE.ttlAttribute, Enabled: true },
          }),
        )
        .catch(() => undefined);
    } finally {
      client.destroy();
    }
    return tableName;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
