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
  /** Run history entries, one empty object per export (docs/contract.md, "Run history"). */
  history: "history/",
} as const;

/** Completion events (docs/contract.md, "Events"). */
export const EVENT = {
  source: "wavy-sessions",
  succeeded: "Export Succeeded",
  failed: "Export Failed",
  /** EventBridge's name for the account's default bus, the deployed default. */
  defaultBusName: "default",
} as const;

/** An export's status (docs/contract.md, "The export document"). */
export const EXPORT_STATUS = {
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
} as const;

/** What started an export: the API, or a scheduled snapshot. */
export const EXPORT_TRIGGER = {
  request: "request",
  schedule: "schedule",
} as const;

/** The run history's page size (docs/contract.md, "Run history"). */
export const HISTORY_PAGE = { defaultLimit: 20, maxLimit: 100 } as const;

/** The asynchronous export's worker (docs/contract.md, "Asynchronous exports"). */
export const WORKER = {
  /** Lambda's longest timeout, and the worker's: the largest CSV it takes is in docs/benchmarks.md. */
  maxTimeoutSeconds: 900,
  /** Time kept back from the worker's deadline to abort the upload and record the failure. */
  safetyMarginMs: 30_000,
  /**
   * The shortest worker timeout that can copy anything: the safety margin plus 30 s of copy.
   * A shorter EXPORT_WORKER_TIMEOUT_SECONDS made every asynchronous export fail (issue 19).
   */
  minTimeoutSeconds: 60,
} as const;

/**
 * The partition segments of `exports/` and `sessions/` keys, in order:
 * `customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/`, and the Glue partition column each
 * one is projected into (docs/contract.md, "Querying with Athena"): key layout 1's, which
 * lambdas/lib/layout.ts builds every key, location template and projection from.
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
  /**
   * 1 when a run found the secret still holding SECRET_PLACEHOLDER: not a Wavy failure, so the
   * run neither throws nor emits WavyRequestFailed, and the NoCount alarms count it as a run.
   */
  notConfigured: "NotConfigured",
} as const;

/** The exports' own metrics, as each export ends (docs/contract.md, "Metrics"). */
export const EXPORT_METRIC = {
  succeeded: "ExportsSucceeded",
  failed: "ExportsFailed",
  failedByCode: "ExportsFailedByCode",
  durationMs: "ExportDuration",
  bytes: "ExportBytes",
  rows: "ExportRows",
} as const;

/** ExportsFailedByCode's dimension: the failed document's `error.code`. */
export const EXPORT_DIMENSION = { errorCode: "ErrorCode" } as const;

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
  worker: "wavy-sessions-export-worker",
} as const;

/**
 * What the stack's created secret holds until the operator puts the Wavy credentials in. The
 * functions tell it apart from a malformed secret, so a fresh deploy reads "not configured yet"
 * instead of failing every scheduled count into the dead-letter queue and the alarms.
 */
export const SECRET_PLACEHOLDER = { userName: "", authenticationToken: "" } as const;

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
  /** Below API Gateway's 29 s integration timeout, with room to clean up and answer. */
  maxRequestBudgetMs: 28_000,
  /**
   * How long clean-up after a failure (aborting a multipart upload, deleting what a failed
   * export wrote, releasing an Idempotency-Key) may take once the budget is spent: it must still
   * go out, but a hung S3 must not hold the answer past API Gateway's 29 s (28 000 + 500).
   */
  cleanupGraceMs: 500,
  /**
   * A presigned URL signed with temporary credentials stops working when they expire, whatever
   * its own expiry says, and the functions sign with their execution role's session
   * (S3 user guide, "Expiration time for presigned URLs": with IAM role credentials the URL
   * expires with the role session, even when a longer expiry was asked for,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html). AWS
   * documents no lifetime for a Lambda execution role's session, and notes that services which
   * assume a role, Lambda's included, need not follow the role's session-duration setting
   * (https://repost.aws/knowledge-center/presigned-url-s3-bucket-expiration); the cap is
   * therefore STS's default role session, one hour. GET /exports/{exportId} mints a fresh URL.
   */
  maxDownloadUrlTtlSeconds: 3_600,
  /**
   * The longest CSV record the scanner holds (docs/contract.md, "Budget and caps"): a Wavy row
   * is under 100 bytes, so 1 MiB is generous, and a line that never ends cannot grow memory.
   */
  maxCsvRecordBytes: 1024 * 1024,
} as const;

/** Ids: positive integers, 1-18 ASCII digits, no leading zero. */
export const ID_PATTERN = /^[1-9][0-9]{0,17}$/;

/** An export id: 1-128 characters of A-Z a-z 0-9 _ -. */
export const EXPORT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** An Idempotency-Key: 1-128 characters of A-Z a-z 0-9 _ - . : */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The stack's output keys (docs/contract.md, "Stack outputs"), which `npm run call` and
 * `npm run smoke` read from `cdk deploy --outputs-file` or DescribeStacks.
 */
export const STACK_OUTPUT = {
  apiUrl: "ApiUrl",
  exportBucketName: "ExportBucketName",
  wavySecretId: "WavySecretId",
  deadLetterQueueUrl: "DeadLetterQueueUrl",
  dashboardName: "DashboardName",
  counterFunctionName: "CounterFunctionName",
  /** The CloudWatch namespace of the counter's metrics (the stack's name). */
  metricsNamespace: "MetricsNamespace",
  /** `<stack name>/`: the name of every alarm of the stack starts so. */
  alarmNamePrefix: "AlarmNamePrefix",
  /** The first counted target as the counter's event; absent when no target is counted. */
  firstTarget: "FirstTarget",
  exportFunctionName: "ExportFunctionName",
  /** The counter's schedules, one per target, are in this EventBridge Scheduler group. */
  scheduleGroupName: "ScheduleGroupName",
  /** The Glue database of the raw_exports and sessions tables (docs/contract.md, "Querying with Athena"). */
  glueDatabaseName: "GlueDatabaseName",
  /** The Athena workgroup holding the named queries. */
  athenaWorkGroupName: "AthenaWorkGroupName",
  /** The asynchronous export's worker (its failed invocations go to DeadLetterQueueUrl). */
  exportWorkerFunctionName: "ExportWorkerFunctionName",
  /** The bus completion events go to (docs/contract.md, "Events"). */
  eventBusName: "EventBusName",
  /** Live windows (docs/contract.md, "Webhooks (deployed)"): `{token}` stands for the token. */
  moWebhookUrl: "MoWebhookUrl",
  statusWebhookUrl: "StatusWebhookUrl",
  /** The secret holding the webhook token, `{"token": "..."}`. */
  webhookTokenSecretId: "WebhookTokenSecretId",
  windowsTableName: "WindowsTableName",
  webhookQueueUrl: "WebhookQueueUrl",
  webhookDeadLetterQueueUrl: "WebhookDeadLetterQueueUrl",
  /** The companion function's dead-letter queue (docs/contract.md, "Companions"). */
  companionDeadLetterQueueUrl: "CompanionDeadLetterQueueUrl",
} as const;

/**
 * Node options of the export function: a 1 MB young generation instead of V8's 16 MB default
 * (64-bit), so the download's 16 KiB TLS chunks, dead as soon as they are copied into a part,
 * are collected every megabyte instead of piling up: the 1 GB export over TLS peaked at 142 MB
 * with it and 178 MB without, at the same CPU. It costs no cold start: Lambda's runtime starts
 * every function with V8 flags of its own (bench/lambda-runtime.ts), which already cost the
 * ~30 ms of init that any such flag costs, and it leaves its heap flags out when NODE_OPTIONS
 * names one (the handler logs a warning if a runtime ever overrides it). docs/benchmarks.md has
 * the figures. No --enable-source-maps (infra/constructs/bundled-node-function.ts says why).
 */
export const EXPORT_NODE_OPTIONS = "--max-semi-space-size=1";

/**
 * The export function's process settings, as the stack sets them and the bench runs them. With
 * MALLOC_ARENA_MAX=1 glibc keeps one malloc arena instead of up to 8 per core
 * (https://sourceware.org/glibc/manual/latest/html_node/Memory-Allocation-Tunables.html,
 * glibc.malloc.arena_max, which the variable sets): what V8's and libuv's threads free (TLS
 * records, compressor contexts) is reused instead of held in arenas of their own. The 1 GB
 * export over TLS peaked 7-10 MB lower at the same CPU (docs/benchmarks.md, step 10). Lambda
 * reserves no MALLOC_* name (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
 */
export const EXPORT_PROCESS_ENVIRONMENT = {
  NODE_OPTIONS: EXPORT_NODE_OPTIONS,
  MALLOC_ARENA_MAX: "1",
} as const;

/**
 * Live session windows from Wavy's webhooks (docs/contract.md, "Live windows"). The table's key
 * schema, its index and TTL attribute are shared by the functions that read and write it and the
 * construct that creates it.
 */
export const WINDOWS_TABLE = {
  /** The user's number (Wavy's `source` in an MO, `destination` in a status callback). */
  partitionKey: "destination",
  /** The business number that received the MO (Wavy's `origin`). */
  sortKey: "origin",
  /** Open windows of one business number by closing time: partition `origin`, sort `closesAt`. */
  closingIndex: "byOriginClosesAt",
  closingIndexSortKey: "closesAt",
  /** Epoch seconds after which DynamoDB's TTL may delete the item. */
  ttlAttribute: "expiresAt",
} as const;

/** What a webhook route carries; the queue message's `kind` attribute says which. */
export const WEBHOOK_KIND = { mo: "mo", status: "status" } as const;

/** Days a closed window is kept before TTL removes it (`windowRetentionDays`). */
export const WINDOW_RETENTION_DAYS = { default: 7, min: 1, max: 365 } as const;

// ---- Live windows, runtime side (issue 20; docs/contract.md, "Live windows") ----

/**
 * The largest webhook body accepted; above it the route answers 413 and stores nothing. SQS's
 * largest message is 1 MiB, body and attributes together (1 048 576 bytes since 2025, 256 KiB
 * before: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html);
 * 1 KiB is left for the `kind` attribute. The queue's MaximumMessageSize must be 1 MiB.
 */
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024 - 1024;

/** Where rejected webhook items are kept in the export bucket: `<prefix><kind>/<date>/…`. */
export const WEBHOOK_REJECTED_PREFIX = "webhooks/rejected/";

/** Who last set a window: Wavy's webhook, or (issue 21) the CSV snapshot. */
export const WINDOW_SEEN_BY = { webhook: "webhook", snapshot: "snapshot" } as const;

/** The lookup routes' limits (docs/contract.md, "Live windows", "Lookups"). */
export const WINDOW_LOOKUP = {
  closingWithinMinutes: { min: 1, max: 1440 },
  defaultLimit: 100,
  maxLimit: 500,
  /** Destinations and origins are strings of at most this many characters. */
  maxNumberLength: 64,
  /** Business numbers one counter event may name. */
  maxOrigins: 20,
} as const;

/** The live windows' metrics; each has its own dimension set (docs/contract.md, "Metrics"). */
export const WINDOW_METRIC = {
  itemsApplied: "WebhookItemsApplied",
  itemsRejected: "WebhookItemsRejected",
  openWindows: "OpenWindows",
} as const;

export const WINDOW_DIMENSION = {
  kind: "Kind",
  origin: "Origin",
} as const;

/** POWERTOOLS_SERVICE_NAME of the two new functions (the `service` dimension). */
export const WINDOW_SERVICE_NAME = {
  windowEvents: "wavy-sessions-window-events",
  windowsApi: "wavy-sessions-windows-api",
} as const;

/**
 * Window intelligence (docs/contract.md, "Window intelligence"): status callbacks explained,
 * snapshots reconciled, the CSV's zone measured, closing notices. Kept apart from METRIC, which
 * holds the counter's per-target metrics (docs/contract.md, "Metrics", with their dimension set).
 */
export const WINDOW_EVENT = {
  sendRejected: "Send Rejected Outside Window",
  closing: "Window Closing",
} as const;

/** Wavy's codes that mean the send met a closed window: 104 NOT_DELIVERED, 210 INVALID_SESSION. */
export const OUTSIDE_WINDOW_CODES = [210, 104] as const;

export const INTELLIGENCE_METRIC = {
  sendsRejectedOutsideWindow: "SendsRejectedOutsideWindow",
  deliveryOutcomes: "DeliveryOutcomes",
  windowsOnlyInSnapshot: "WindowsOnlyInSnapshot",
  windowsOnlyLive: "WindowsOnlyLive",
  snapshotWindowsWritten: "SnapshotWindowsWritten",
  csvUtcOffsetMinutes: "CsvUtcOffsetMinutes",
  csvZoneMismatch: "CsvZoneMismatch",
  csvZoneOutlierPairs: "CsvZoneOutlierPairs",
  closingNoticesSent: "ClosingNoticesSent",
  closingNoticesDeferred: "ClosingNoticesDeferred",
} as const;

export const INTELLIGENCE_DIMENSION = {
  origin: "Origin",
  status: "Status",
  /** `Origin` of a multi-origin target's CSV row that matched no open window. */
  ambiguousOrigin: "ambiguous",
  /** `Origin` of a callback whose origin is not in the configured list. */
  unlistedOrigin: "unlisted",
} as const;

/** The closing-notice sweeper (docs/contract.md, "Closing notices"). */
export const CLOSING_NOTICES = {
  minMinutes: 10,
  maxMinutes: 1440,
  sweepIntervalMinutes: 5,
  maxPerOriginPerRun: 500,
  /** Kept back from the sweeper's timeout to release claims and flush metrics. */
  budgetMarginMs: 10_000,
  /** Window item attributes: the closesAt last noticed, and when it was claimed. */
  claimAttribute: "closingNoticeFor",
  claimedAtAttribute: "closingNoticeAt",
  serviceName: "wavy-sessions-closing-notices",
} as const;

/** The CSV-zone measurement (docs/contract.md, "Measuring the CSV's zone"). */
export const CSV_ZONE = { minPairs: 3, maxPairs: 1_000, quarterHourMinutes: 15 } as const;

/**
 * The companion function (docs/contract.md, "Companions"): issue 19 item 3. Its retries and
 * dead-letter queue are set by the stack from these, and the export document's
 * `companion.status` turns `failed` once the build window has passed without a companion.
 */
export const COMPANION = {
  status: { pending: "pending", ready: "ready", failed: "failed" },
  /** EventBridge's delivery retries to the function (rule target `retryAttempts`). */
  deliveryRetryAttempts: 8,
  /** Lambda's retries of a failed asynchronous invocation: its default, 2. */
  invokeRetryAttempts: 2,
  /** How old an event may get in EventBridge's delivery retries. */
  maxEventAgeMinutes: 60,
  /** How old it may get in Lambda's asynchronous queue: Lambda's default, 6 h. */
  invokeMaxEventAgeMinutes: 360,
  /** The function's timeout: Lambda's longest, the largest CSV it takes is in docs/benchmarks.md. */
  timeoutSeconds: 900,
  /**
   * Past completedAt + this, a missing companion reads `failed`: longer than both event ages
   * and three full invocations together (60 + 360 + 3 × 15 = 465 minutes).
   */
  buildWindowMinutes: 480,
  /** The file's key-value metadata: rows whose text had bytes replaced by U+FFFD. */
  replacedRowsMetadataKey: "wavy.replaced_utf8_rows",
} as const;
