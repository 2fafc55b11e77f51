/**
 * One error class per contract error code (DESIGN.md, "Errors"). Domain code throws these;
 * the API handler maps them to HTTP in exactly one place (export-sessions/http.ts).
 * Messages are safe to show a caller: they never carry credentials or internals.
 */
export abstract class ContractError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends ContractError {
  readonly code = "INVALID_REQUEST";
  readonly status = 400;
}

export class NotFoundError extends ContractError {
  readonly code = "NOT_FOUND";
  readonly status = 404;
}

export class MethodNotAllowedError extends ContractError {
  readonly code = "METHOD_NOT_ALLOWED";
  readonly status = 405;

  constructor(readonly allow: readonly string[]) {
    super(`Method not allowed; use ${allow.join(", ")}`);
  }
}

/** Wavy failed, answered nonsense, or linked to a CSV we may not fetch. */
export class UpstreamError extends ContractError {
  readonly code = "UPSTREAM_ERROR";
  readonly status = 502;
}

/** Wavy kept rate-limiting us (420/429) until retries or the budget ran out. */
export class UpstreamThrottledError extends ContractError {
  readonly code = "UPSTREAM_THROTTLED";
  readonly status = 503;

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wavy answered 504 after retries, or the request budget ran out. */
export class UpstreamTimeoutError extends ContractError {
  readonly code = "UPSTREAM_TIMEOUT";
  readonly status = 504;
}

/** Our own fault (bad secret, bad configuration, a bug). The message stays generic. */
export class InternalError extends ContractError {
  readonly code = "INTERNAL";
  readonly status = 500;
}

/** The environment is missing or malformed; thrown by config.ts, answered as INTERNAL. */
export class ConfigurationError extends InternalError {}

/**
 * What a log line may say about an error: its class and code, never its message, which for
 * SDK and HTTP errors can quote request details (headers, URLs).
 */
export function errorName(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.name} (${code})` : error.name;
  }
  return typeof error;
}
