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
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { CLOSING_NOTICES, WINDOWS_TABLE } from "../contract.js";
import type { SeenBy, WindowWrite } from "./window.js";
import type {
  ClosingPage,
  ClosingQuery,
  WindowKey,
  WindowRecord,
  WindowStore,
} from "./window-store.js";

/** Capacity the store's calls consumed (ReturnConsumedCapacity TOTAL), for the bench. */
export interface CapacityTally {
  readUnits: number;
  writeUnits: number;
  queries: number;
  itemsRead: number;
}

const keyOf = ({ destination, origin }: WindowKey) => ({
  [WINDOWS_TABLE.partitionKey]: destination,
  [WINDOWS_TABLE.sortKey]: origin,
});

// By name too: an exception class from another copy of the SDK fails `instanceof`.
const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | null)?.name === "ConditionalCheckFailedException";

/**
 * The windows' table (docs/contract.md, "Live windows"): partition `destination`, sort `origin`,
 * the index `byOriginClosesAt` (origin, closesAt), TTL on `expiresAt`. Every write is a
 * conditional UpdateItem, so a window never moves backward and a notice is claimed once
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 * Every call asks for its consumed capacity, which `capacity` sums and `onCapacity` is told,
 * so the bench can report units per MO and per sweep.
 */
export class DynamoDbWindowStore implements WindowStore {
  readonly capacity: CapacityTally = { readUnits: 0, writeUnits: 0, queries: 0, itemsRead: 0 };
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
   * One conditional UpdateItem. A failed condition is the forward-only rule saying no; it still
   * costs the write units of the item's size (1 for a window), though the exception carries no
   * ConsumedCapacity: the bench counts those from the outcome.
   */
  advance(window: WindowWrite): Promise<boolean> {
    const values = {
      ":t": window.lastInboundAt,
      ":c": window.closesAt,
      ":by": window.seenBy,
      ":e": window.expiresAt,
      ":u": window.updatedAt,
    };
    const set = `SET lastInboundAt = :t, ${WINDOWS_TABLE.closingIndexSortKey} = :c, seenBy = :by, ${WINDOWS_TABLE.ttlAttribute} = :e, updatedAt = :u`;
    return this.update({
      TableName: this.tableName,
      Key: keyOf(window),
      ConditionExpression: "attribute_not_exists(lastInboundAt) OR lastInboundAt < :t",
      ...(window.lastMessageId === undefined
        ? { UpdateExpression: `${set} REMOVE lastMessageId`, ExpressionAttributeValues: values }
        : {
            UpdateExpression: `${set}, lastMessageId = :id`,
            ExpressionAttributeValues: { ...values, ":id": window.lastMessageId },
          }),
    });
  }

  async windowOf(
    key: WindowKey,
    options: { consistent?: boolean } = {},
  ): Promise<WindowRecord | undefined> {
    const answer = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keyOf(key),
        ConsistentRead: options.consistent === true,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.report(answer.ConsumedCapacity, "read");
    return answer.Item ? windowRecord(answer.Item) : undefined;
  }

  async windowsOf(destination: string): Promise<WindowRecord[]> {
    const windows: WindowRecord[] = [];
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
      this.report(answer.ConsumedCapacity, "read");
      windows.push(...(answer.Items ?? []).map(windowRecord));
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return windows;
  }

  /**
   * One Query of the index, soonest first (ScanIndexForward), never a Scan. The windows already
   * noticed are left out here, not by a FilterExpression: a filter may not name the index's key
   * attributes (closesAt), and would not save a read unit anyway, as capacity is counted on the
   * items read before any filter
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html).
   * A GSI is eventually consistent: a closesAt it returns may already have moved, which the
   * claim's condition catches.
   */
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
    this.capacity.queries++;
    this.capacity.itemsRead += answer.ScannedCount ?? 0;
    this.report(answer.ConsumedCapacity, "read");
    const read = (answer.Items ?? []).map(windowRecord);
    const windows = query.unnoticedOnly
      ? read.filter((window) => window.closingNoticeFor !== window.closesAt)
      : read;
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
      this.report(answer.ConsumedCapacity, "read");
      count += answer.Count ?? 0;
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  claimClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<boolean> {
    return this.update({
      TableName: this.tableName,
      Key: keyOf(key),
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
    });
  }

  async releaseClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<void> {
    await this.update({
      TableName: this.tableName,
      Key: keyOf(key),
      ConditionExpression: "#notice = :closesAt AND #noticeAt = :claimedAt",
      UpdateExpression: "REMOVE #notice, #noticeAt",
      ExpressionAttributeNames: {
        "#notice": CLOSING_NOTICES.claimAttribute,
        "#noticeAt": CLOSING_NOTICES.claimedAtAttribute,
      },
      ExpressionAttributeValues: { ":closesAt": closesAt, ":claimedAt": claimedAt },
    });
  }

  /** One conditional UpdateItem: false when the condition kept the item as it was. */
  private async update(input: UpdateCommandInput): Promise<boolean> {
    try {
      const answer = await this.documents.send(
        new UpdateCommand({ ...input, ReturnConsumedCapacity: "TOTAL" }),
      );
      this.report(answer.ConsumedCapacity, "write");
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private report(consumed: ConsumedCapacity | undefined, kind: "read" | "write"): void {
    if (!consumed) return;
    if (kind === "read") this.capacity.readUnits += consumed.CapacityUnits ?? 0;
    else this.capacity.writeUnits += consumed.CapacityUnits ?? 0;
    this.onCapacity?.(consumed);
  }
}

/** The item less its bookkeeping (TTL, updatedAt, the claim's time). */
function windowRecord(item: Record<string, unknown>): WindowRecord {
  const notice = item[CLOSING_NOTICES.claimAttribute];
  return {
    destination: String(item.destination),
    origin: String(item.origin),
    lastInboundAt: String(item.lastInboundAt),
    closesAt: String(item.closesAt),
    seenBy: String(item.seenBy) as SeenBy,
    ...(typeof item.lastMessageId === "string" && { lastMessageId: item.lastMessageId }),
    ...(typeof notice === "string" && { closingNoticeFor: notice }),
  };
}
