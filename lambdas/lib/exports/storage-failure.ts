import { ContractError, errorName, InternalError, UpstreamTimeoutError } from "../errors.js";
import { logger } from "../logger.js";

/**
 * What an S3 call's failure answers: the budget running out is the contract's 504 (the call was
 * abandoned on the deadline's signal), anything else our own fault, 500 with a log line that
 * names the error, never its message.
 */
export function storageFailure(
  what: string,
  error: unknown,
  signal: AbortSignal | undefined,
): ContractError {
  if (error instanceof ContractError) return error;
  if (signal?.aborted) {
    logger.error(`${what}: S3 did not answer within the request budget`);
    return new UpstreamTimeoutError("The request budget ran out while S3 was working", {
      cause: error,
    });
  }
  logger.error(what, { errorName: errorName(error) });
  return new InternalError("Internal error", { cause: error });
}
