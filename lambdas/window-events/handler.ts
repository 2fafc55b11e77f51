import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

/**
 * Placeholder so that the stack synthesises on the stack-side branch; D's handler replaces it at
 * merge. It fails every batch, so a deploy of it by mistake loses nothing (the messages are
 * retried, then dead-lettered).
 */
export async function handler(_event: SQSEvent): Promise<SQSBatchResponse> {
  throw new Error("window-events placeholder: not implemented on this branch");
}
