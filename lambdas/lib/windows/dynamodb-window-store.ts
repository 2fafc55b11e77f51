import {
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { WINDOWS_TABLE } from "../contract.js";
import type { SeenBy, StoredWindow, WindowWrite } from "./window.js";
import type { ClosingPage, ClosingQuery, WindowStore } from "./window-store.js";

/**
 * The windows' table (docs/contract.md, "Live windows"): partition `destination`, sort `origin`,
 * the index `byOriginClosesAt`. Every request is one DynamoDB call (a Query continues only past
 * DynamoDB's 1 MB page), and asks for its consumed capacity so the bench can report write units
 * per MO.
 */
export class DynamoDbWindowStore implements WindowStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    /** Told each call's capacity units (the bench's write units per MO). */
    private readonly onCapacity?: (capacity: ConsumedCapacity) => void,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  /**
   * One conditional UpdateItem: written only when new or later than what is stored
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
   * A failed condition is the forward-only rule saying no; it still costs a write unit.
   */
  async advance(window: WindowWrite): Promise<boolean> {
    try {
      const answer = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { destination: window.destination, origin: window.origin },
          UpdateExpression:
            "SET lastInboundAt = :t, closesAt = :c, lastMessageId = :id, seenBy = :by, expiresAt = :e, updatedAt = :u",
          ConditionExpression: "attribute_not_exists(lastInboundAt) OR lastInboundAt < :t",
          ExpressionAttributeValues: {
            ":t": window.lastInboundAt,
            ":c": window.closesAt,
            ":id": window.lastMessageId,
            ":by": window.seenBy,
            ":e": window.expiresAt,
            ":u": window.updatedAt,
          },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.report(answer.ConsumedCapacity);
      return true;
    } catch (error) {
      // The exception carries no ConsumedCapacity; a failed condition still costs the write
      // units of the item's size (1 for a window): the bench counts those from the outcome.
      if (error instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw error;
    }
  }

  async windowOf(destination: string, origin: string): Promise<StoredWindow | undefined> {
    const answer = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { destination, origin },
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.report(answer.ConsumedCapacity);
    return answer.Item ? storedWindow(answer.Item) : undefined;
  }

  async windowsOf(destination: string): Promise<StoredWindow[]> {
    const windows: StoredWindow[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const answer = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#d = :d",
          ExpressionAttributeNames: { "#d": WINDOWS_TABLE.partitionKey },
          ExpressionAttributeValues: { ":d": destination },
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.report(answer.ConsumedCapacity);
      windows.push(...(answer.Items ?? []).map(storedWindow));
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return windows;
  }

  /** One Query of the index, soonest first (ScanIndexForward), never a Scan. */
  async closingWindows(query: ClosingQuery): Promise<ClosingPage> {
    const answer = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: WINDOWS_TABLE.closingIndex,
        KeyConditionExpression: "#o = :o AND #c BETWEEN :from AND :to",
        ExpressionAttributeNames: {
          "#o": WINDOWS_TABLE.sortKey,
          "#c": WINDOWS_TABLE.closingIndexSortKey,
        },
        ExpressionAttributeValues: { ":o": query.origin, ":from": query.from, ":to": query.to },
        ScanIndexForward: true,
        Limit: query.limit,
        ExclusiveStartKey: query.startAfter && { ...query.startAfter },
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.report(answer.ConsumedCapacity);
    const windows = (answer.Items ?? []).map(storedWindow);
    const last = answer.LastEvaluatedKey;
    return last
      ? {
          windows,
          next: {
            destination: String(last.destination),
            origin: String(last.origin),
            closesAt: String(last.closesAt),
          },
        }
      : { windows };
  }

  /** Select COUNT over the index, page after page (a count reads the items all the same). */
  async countClosingAfter(origin: string, after: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const answer = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: WINDOWS_TABLE.closingIndex,
          KeyConditionExpression: "#o = :o AND #c > :now",
          ExpressionAttributeNames: {
            "#o": WINDOWS_TABLE.sortKey,
            "#c": WINDOWS_TABLE.closingIndexSortKey,
          },
          ExpressionAttributeValues: { ":o": origin, ":now": after },
          Select: "COUNT",
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.report(answer.ConsumedCapacity);
      count += answer.Count ?? 0;
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  private report(capacity: ConsumedCapacity | undefined): void {
    if (capacity && this.onCapacity) this.onCapacity(capacity);
  }
}

function storedWindow(item: Record<string, unknown>): StoredWindow {
  return {
    destination: String(item.destination),
    origin: String(item.origin),
    lastInboundAt: String(item.lastInboundAt),
    closesAt: String(item.closesAt),
    seenBy: String(item.seenBy) as SeenBy,
  };
}
