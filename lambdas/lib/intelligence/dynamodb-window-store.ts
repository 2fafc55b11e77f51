import { ConditionalCheckFailedException, type ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { CLOSING_NOTICES, WINDOWS_TABLE } from "../contract.js";
import type {
  ClosingPage,
  ClosingQuery,
  SnapshotWindow,
  WindowKey,
  WindowRecord,
  WindowStore,
} from "./ports.js";

/** Capacity the adapter's calls consumed (ReturnConsumedCapacity TOTAL), for the bench. */
export interface CapacityTally {
  readUnits: number;
  writeUnits: number;
  queries: number;
  itemsRead: number;
}

const key = ({ destination, origin }: WindowKey) => ({
  [WINDOWS_TABLE.partitionKey]: destination,
  [WINDOWS_TABLE.sortKey]: origin,
});

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | null)?.name === "ConditionalCheckFailedException";

/**
 * The store port on issue 20's table (lambdas/lib/contract.ts WINDOWS_TABLE). Every write is a
 * conditional UpdateItem, so a write never moves a window backward and a claim is taken once
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html);
 * a failed condition is an answer (false), not an error.
 */
export class DynamoDbWindowStore implements WindowStore {
  readonly capacity: CapacityTally = { readUnits: 0, writeUnits: 0, queries: 0, itemsRead: 0 };

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private tally(consumed: ConsumedCapacity | undefined, kind: "read" | "write"): void {
    const units = consumed?.CapacityUnits ?? 0;
    if (kind === "read") this.capacity.readUnits += units;
    else this.capacity.writeUnits += units;
  }

  async get(window: WindowKey): Promise<WindowRecord | undefined> {
    const answer = await this.client.send(
      // Strongly consistent: a 210 read right after the MO that closed the gap must see it.
      new GetCommand({
        TableName: this.tableName,
        Key: key(window),
        ConsistentRead: true,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.tally(answer.ConsumedCapacity, "read");
    return answer.Item as WindowRecord | undefined;
  }

  /**
   * Query on the index (never a Scan). The windows already noticed are left out here, not by a
   * FilterExpression: a filter may not name the index's key attributes (closesAt), and would
   * not save a read unit anyway, as capacity is counted on the items read before any filter
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html).
   * So a page may hold fewer than `limit` windows and still have a cursor. A GSI is eventually
   * consistent: a closesAt it returns may already have moved, which the claim's condition catches.
   */
  async closing(origin: string, query: ClosingQuery): Promise<ClosingPage> {
    const answer = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: WINDOWS_TABLE.closingIndex,
        KeyConditionExpression: "#origin = :origin AND #closesAt BETWEEN :from AND :to",
        ExpressionAttributeNames: {
          "#origin": WINDOWS_TABLE.sortKey,
          "#closesAt": WINDOWS_TABLE.closingIndexSortKey,
        },
        ExpressionAttributeValues: { ":origin": origin, ":from": query.from, ":to": query.to },
        Limit: query.limit,
        ...(query.cursor && {
          ExclusiveStartKey: JSON.parse(Buffer.from(query.cursor, "base64url").toString("utf8")),
        }),
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.capacity.queries++;
    this.capacity.itemsRead += answer.ScannedCount ?? 0;
    this.tally(answer.ConsumedCapacity, "read");
    const windows = (answer.Items ?? []) as WindowRecord[];
    return {
      windows: query.unnoticedOnly
        ? windows.filter((window) => window.closingNoticeFor !== window.closesAt)
        : windows,
      ...(answer.LastEvaluatedKey && {
        cursor: Buffer.from(JSON.stringify(answer.LastEvaluatedKey)).toString("base64url"),
      }),
    };
  }

  private async update(command: UpdateCommand): Promise<boolean> {
    try {
      const answer = await this.client.send(command);
      this.tally(answer.ConsumedCapacity, "write");
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  advanceFromSnapshot(window: SnapshotWindow): Promise<boolean> {
    return this.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(window),
        // The webhook's rule (issue 20): forward only. lastMessageId named an older MO.
        ConditionExpression: "attribute_not_exists(#last) OR #last < :last",
        UpdateExpression:
          "SET #last = :last, #closesAt = :closesAt, #seenBy = :seenBy, #expiresAt = :expiresAt, #updatedAt = :updatedAt REMOVE #messageId",
        ExpressionAttributeNames: {
          "#last": "lastInboundAt",
          "#closesAt": WINDOWS_TABLE.closingIndexSortKey,
          "#seenBy": "seenBy",
          "#expiresAt": WINDOWS_TABLE.ttlAttribute,
          "#updatedAt": "updatedAt",
          "#messageId": "lastMessageId",
        },
        ExpressionAttributeValues: {
          ":last": window.lastInboundAt,
          ":closesAt": window.closesAt,
          ":seenBy": "snapshot",
          ":expiresAt": window.expiresAt,
          ":updatedAt": window.updatedAt,
        },
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
  }

  claimClosingNotice(window: WindowKey, closesAt: string, claimedAt: string): Promise<boolean> {
    return this.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(window),
        // A missing item fails `#closesAt = :closesAt` too: no item is created.
        ConditionExpression:
          "#closesAt = :closesAt AND (attribute_not_exists(#notice) OR #notice <> :closesAt)",
        UpdateExpression: "SET #notice = :closesAt, #noticeAt = :claimedAt",
        ExpressionAttributeNames: {
          "#closesAt": WINDOWS_TABLE.closingIndexSortKey,
          "#notice": CLOSING_NOTICES.claimAttribute,
          "#noticeAt": CLOSING_NOTICES.claimedAtAttribute,
        },
        ExpressionAttributeValues: { ":closesAt": closesAt, ":claimedAt": claimedAt },
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
  }

  async releaseClosingNotice(
    window: WindowKey,
    closesAt: string,
    claimedAt: string,
  ): Promise<void> {
    await this.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(window),
        ConditionExpression: "#notice = :closesAt AND #noticeAt = :claimedAt",
        UpdateExpression: "REMOVE #notice, #noticeAt",
        ExpressionAttributeNames: {
          "#notice": CLOSING_NOTICES.claimAttribute,
          "#noticeAt": CLOSING_NOTICES.claimedAtAttribute,
        },
        ExpressionAttributeValues: { ":closesAt": closesAt, ":claimedAt": claimedAt },
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
  }
}
