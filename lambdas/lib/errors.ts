/**
 * One error class per contract error code (docs/contract.md, "Errors"). Each carries its own
 * HTTP details (status, code, headers such as Allow or Retry-After), as Powertools' HttpError
 * and middy's http-errors do, so the one place that answers them (export-sessions/http.ts)
 * needs no instanceof chain. Messages are safe to show a caller: they never carry credentials
 * or internals.
 */
export abstract class ContractError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  /** Headers the contract sends with this error. */
  readonly headers: Readonly<Record<string, string>> = {};
  /** A line for the operator's log when this error is answered; never shown to the caller. */
  readonly operatorMessage: string | undefined = undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** What the caller is told. */
  get publicMessage(): string {
    return this.message;
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
  override readonly headers: Readonly<Record<string, string>>;

  constructor(readonly allow: readonly string[]) {
    super(`Method not allowed; use ${allow.join(", ")}`);
    this.headers = { Allow: allow.join(", ") };
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
  override readonly headers: Readonly<Record<string, string>>;

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.headers = { "Retry-After": String(retryAfterSeconds) };
  }
}

/** Wavy answered 504 after retries, or the request budget ran out. */
export class UpstreamTimeoutError extends ContractError {
  readonly code = "UPSTREAM_TIMEOUT";
  readonly status = 504;
}

/** Our own fault (bad secret, bad configuration, a bug). The caller learns nothing more. */
export class InternalError extends ContractError {
  readonly code = "INTERNAL";
  readonly status = 500;

  override get publicMessage(): string {
    return "Internal error";
  }
}

/** The environment is missing or malformed; thrown by config.ts, answered as INTERNAL. */
export class ConfigurationError extends InternalError {
  override readonly operatorMessage: string;

  constructor(message: string) {
    super(message);
    this.operatorMessage = message;
  }
}

/**
 * The Wavy secret still holds the stack's placeholder: the operator has not put the credentials
 * in yet (docs/deploying.md, "First deploy"). Answered as INTERNAL; the counter reports it as
 * the NotConfigured metric instead of failing.
 */
export class WavyNotConfiguredError extends InternalError {
  override readonly operatorMessage =
    'The Wavy secret still holds the stack\'s placeholder: put the Wavy credentials in it (docs/deploying.md, "First deploy")';

  constructor() {
    super("The Wavy secret is not configured yet");
  }
}

/**
 * How a failed export records its error (docs/contract.md, "The export document"): the contract's
 * code and safe message; anything that is not a ContractError is INTERNAL.
 */
export function errorSummary(error: unknown): { code: string; message: string } {
  const contractError =
    error instanceof ContractError ? error : new InternalError("Internal error");
  return { code: contractError.code, message: contractError.publicMessage };
}

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
