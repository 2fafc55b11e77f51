import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { SESSION_LIFETIME_MS } from "../../lambdas/lib/contract.js";

/**
 * What issue 20's processor writes for an MO (docs/contract.md, "Live windows"): the window
 * moves forward only, `seenBy: webhook`. Here for the intelligence tests, which do not have that
 * processor on their branch; the lead may swap it for the processor's own function at merge.
 */
export async function recordInbound(
  client: DynamoDBDocumentClient,
  tableName: string,
  mo: { destination: string; origin: string; lastInboundAt: string; messageId?: string },
): Promise<boolean> {
  const closesAt = new Date(Date.parse(mo.lastInboundAt) + SESSION_LIFETIME_MS).toISOString();
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { destination: mo.destination, origin: mo.origin },
        ConditionExpression: "attribute_not_exists(lastInboundAt) OR lastInboundAt < :t",
        UpdateExpression:
          "SET lastInboundAt = :t, closesAt = :c, lastMessageId = :m, seenBy = :s, expiresAt = :e, updatedAt = :u",
        ExpressionAttributeValues: {
          ":t": mo.lastInboundAt,
          ":c": closesAt,
          ":m": mo.messageId ?? "mo-1",
          ":s": "webhook",
          ":e": Math.ceil(Date.parse(closesAt) / 1000) + 7 * 86_400,
          ":u": mo.lastInboundAt,
        },
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
    throw error;
  }
}
