import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EVENT, EXPORT_STATUS } from "../contract.js";
import { errorName } from "../errors.js";
import type { DownloadUrl, ExportDocument, ExportManifest } from "../exports/export-document.js";
import type { CompletionEvents } from "../exports/ports.js";
import { logger } from "../logger.js";

/** Local runs without a bus (EVENT_BUS_NAME unset): nothing is announced. */
export const noCompletionEvents: CompletionEvents = { put: async () => {} };

/** A put that has not answered by then is given up: the export itself has already ended. */
const PUT_TIMEOUT_MS = 3_000;

/**
 * The event's detail: the document without its download URL, which is signed with the function's
 * temporary credentials (its session token is in the URL) and must not travel to event targets.
 */
export function eventDetail(ended: ExportManifest | ExportDocument): ExportManifest {
  const { downloadUrl: _, downloadUrlExpiresAt: __, ...manifest } = ended as Partial<DownloadUrl>;
  return manifest as ExportManifest;
}

/**
 * PutEvents on the configured bus: source `wavy-sessions`, detail-type by status. Never throws:
 * the export's outcome is already recorded, so a failed put is the operator's to see in the log.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html answers 200 with
 * FailedEntryCount for entries it refused, so that count is checked as well as the call.
 */
export function eventBridgeCompletionEvents(
  client: EventBridgeClient,
  eventBusName: string,
): CompletionEvents {
  return {
    put: async (ended, signal) => {
      const detail = eventDetail(ended);
      const detailType = detail.status === EXPORT_STATUS.succeeded ? EVENT.succeeded : EVENT.failed;
      const entry = {
        Source: EVENT.source,
        DetailType: detailType,
        Detail: JSON.stringify(detail),
        EventBusName: eventBusName,
        Resources: [],
      };
      try {
        const answer = await client.send(new PutEventsCommand({ Entries: [entry] }), {
          abortSignal: AbortSignal.any([signal, AbortSignal.timeout(PUT_TIMEOUT_MS)]),
        });
        if ((answer.FailedEntryCount ?? 0) > 0) {
          const code = answer.Entries?.[0]?.ErrorCode ?? "Unknown";
          throw Object.assign(new Error("PutEvents refused the entry"), { code });
        }
      } catch (error) {
        logger.error("Could not put the completion event", {
          exportId: detail.exportId,
          detailType,
          errorName: errorName(error),
        });
      }
    },
  };
}
