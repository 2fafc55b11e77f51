import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EVENT } from "../contract.js";
import { errorName } from "../errors.js";
import { logger } from "../logger.js";
import type { WindowEvent, WindowEventBus } from "./ports.js";

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;
const PUT_TIMEOUT_MS = 3_000;

/**
 * The bus port on EventBridge: source `wavy-sessions`, 10 entries per PutEvents. PutEvents
 * answers 200 with a per-entry ErrorCode for entries it refused
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html), so each
 * entry's fate is read from the answer, in order.
 */
export function eventBridgeWindowEvents(
  client: EventBridgeClient,
  eventBusName: string,
): WindowEventBus {
  return {
    put: async (events: readonly WindowEvent[]) => {
      const accepted: boolean[] = [];
      for (let start = 0; start < events.length; start += BATCH) {
        const batch = events.slice(start, start + BATCH);
        try {
          const answer = await client.send(
            new PutEventsCommand({
              Entries: batch.map((event) => ({
                Source: EVENT.source,
                DetailType: event.detailType,
                Detail: JSON.stringify(event.detail),
                EventBusName: eventBusName,
                Resources: [],
              })),
            }),
            { abortSignal: AbortSignal.timeout(PUT_TIMEOUT_MS) },
          );
          const codes = batch.map((_, at) => answer.Entries?.[at]?.ErrorCode);
          for (const code of codes) accepted.push(!code);
          if ((answer.FailedEntryCount ?? 0) > 0) {
            logger.warn("EventBridge refused window events", {
              refused: answer.FailedEntryCount,
              errorCodes: [...new Set(codes.filter(Boolean))],
            });
          }
        } catch (error) {
          // Figures and the error's name only: the events carry users' numbers.
          logger.warn("Could not put window events", {
            events: batch.length,
            errorName: errorName(error),
          });
          for (const _ of batch) accepted.push(false);
        }
      }
      return accepted;
    },
  };
}
