import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { windowWrite } from "../../lambdas/lib/windows/window.js";

/**
 * What the webhook's processor writes for an MO received at `lastInboundAt` (docs/contract.md,
 * "Live windows"): the window moves forward only, `seenBy: webhook`, through the table's one
 * adapter. False when the forward-only rule kept the item as it was.
 */
export function recordInbound(
  client: DynamoDBClient,
  tableName: string,
  mo: { destination: string; origin: string; lastInboundAt: string; messageId?: string },
): Promise<boolean> {
  const receivedAtMs = Date.parse(mo.lastInboundAt);
  return new DynamoDbWindowStore(client, tableName).advance(
    windowWrite(
      { id: mo.messageId ?? "mo-1", destination: mo.destination, origin: mo.origin, receivedAtMs },
      { retentionDays: 7, nowMs: receivedAtMs },
    ),
  );
}
