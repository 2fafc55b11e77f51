/**
 * The contract's constants, shared by the functions (lambdas/) and the stack (infra/), so an
 * alarm can never drift from the metric it watches, nor an IAM grant from the key it covers.
 * What each one means is written in docs/contract.md; change it there first.
 *
 * Plain values only: this module imports nothing, so the stack can import it without pulling
 * in a handler's dependencies, and a bundle carries only what it uses.
 */

/**
 * S3 prefixes (docs/contract.md, "S3 layout"). Only export CSVs live under `exports/`, only their
 * normalised Parquet companions under `sessions/`, only closing-soon lists under `closing/`;
 * Athena writes its query results under `athena-results/`.
 */
export const S3_PREFIX = {
  exports: "exports/",
  sessions: "sessions/",
  closing: "closing/",
  manifests: "manifests/",
  idempotency: "idempotency/",
  athenaResults: "athena-results/",
} as const;

/**
 * The partition segments of `exports/` and `sessions/` keys, in order:
 * `customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/`, and the Glue partition column each
 * one is projected into (docs/contract.md, "Querying with Athena").
 */
export const PARTITIONS = [
  { segment: "customerId", column: "customer_id" },
  { segment: "subAccountId", column: "sub_account_id" },
  { segment: "date", column: "export_date" },
] as const;

/**
 * Columns of the raw export table: the CSV exactly as Wavy serves it (`;`, one header line).
 * Glue/Hive type names.
 */
export const RAW_EXPORT_COLUMNS = [
  { name: "source", type: "string" },
  { name: "session_created_at", type: "string" },
] as const;

/** Columns of the normalised companion (Parquet) and its table, in file order. */
export const SESSION_COLUMNS = [
  { name: "source", type: "string" },
  { name: "session_created_at", type: "string" },
  { name: "created_at", type: "timestamp" },
  { name: "closes_at", type: "timestamp" },
  { name: "export_id", type: "string" },
  { name: "exported_at", type: "timestamp" },
] as const;

/**
 * A WhatsApp customer-service window closes 24 h after the session was created: the counter's
 * windows and the companion's `closes_at` both rest on it.
 */
export const SESSION_LIFETIME_MS = 24 * 3_600_000;

/** GET /sessions/closing?withinMinutes=: the window, in minutes from the export's creation. */
export const CLOSING_WINDOW_MINUTES = { min: 1, max: 1440 } as const;

/** The value used in S3 keys and metric dimensions when no sub-account is given. */
export const ALL_SUB_ACCOUNTS = "all";

/** CloudWatch namespace of the counter's EMF metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = "WavySessions";

/** Metric names (docs/contract.md, "Metrics"). */
export const METRIC = {
  openSessions: "OpenSessions",
  expiringWithin1h: "SessionsExpiringWithin1h",
  expiringWithin4h: "SessionsExpiringWithin4h",
  unparseableTimestamps: "UnparseableTimestamps",
  wavyRequestFailed: "WavyRequestFailed",
} as const;

/** Metric dimension names; Powertools adds `service` with the function's service name. */
export const DIMENSION = {
  customerId: "CustomerId",
  subAccountId: "SubAccountId",
  service: "service",
} as const;

/** POWERTOOLS_SERVICE_NAME of each function: the value of the metrics' `service` dimension. */
export const SERVICE_NAME = {
  export: "wavy-sessions-export",
  counter: "wavy-sessions-counter",
} as const;

/** Defaults of the functions' environment (docs/contract.md, "Configuration"). */
export const DEFAULTS = {
  wavyApiUrl: "https://api-messaging.wavy.global",
  downloadOrigins: "https://chatclub-cdn.wavy.global,https://*.wavy.global",
  timeZone: "America/Sao_Paulo",
  requestBudgetMs: 25_000,
  downloadUrlTtlSeconds: 900,
  maxCsvBytes: 5 * 1024 ** 3,
} as const;

/** Limits of the environment's values. */
export const LIMITS = {
  /** Below API Gateway's 29 s integration timeout, with room to answer. */
  maxRequestBudgetMs: 28_000,
  /** SigV4 presigned URLs live at most 7 days; see docs/contract.md for the role-session cap. */
  maxDownloadUrlTtlSeconds: 604_800,
} as const;

/** Ids: positive integers, 1-18 ASCII digits, no leading zero. */
export const ID_PATTERN = /^[1-9][0-9]{0,17}$/;

/** An export id: 1-128 characters of A-Z a-z 0-9 _ -. */
export const EXPORT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** An Idempotency-Key: 1-128 characters of A-Z a-z 0-9 _ - . : */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
