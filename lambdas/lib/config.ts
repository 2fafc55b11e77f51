import * as z from "zod/mini";
import { DEFAULTS, LIMITS, WINDOW_RETENTION_DAYS, WORKER } from "./contract.js";
import { ConfigurationError } from "./errors.js";
import { parseClosingNoticeSettings } from "./intelligence/closing-notice-settings.js";
import type { OriginTarget } from "./intelligence/ports.js";
import type { WavyCredentialSource } from "./wavy/credentials.js";
import { type AllowedOrigin, parseAllowedOrigins } from "./wavy/origins.js";

/**
 * The one place the environment is read (docs/contract.md, "Configuration"). Each handler parses
 * only what it uses, once, and a bad value fails with the variable's name in the message.
 *
 * zod/mini, not classic zod: it tree-shakes to the few schemas used here, which keeps the
 * bundles small (docs/benchmarks.md). It carries no locale, so every rule states its message.
 */

/**
 * Plain decimal digits only: coercing with Number() also took `1e3`, `0x384` and ` 900 `, a
 * value that reads as one number to a person and as another to the code.
 */
const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1) => {
  const range = [min > 1 && `at least ${min}`, max < Number.MAX_SAFE_INTEGER && `at most ${max}`]
    .filter(Boolean)
    .join(" and ");
  const message = `must be a positive integer in plain digits${range ? `, ${range}` : ""}`;
  return z._default(
    z.pipe(
      z.pipe(
        z.string(message).check(z.regex(/^[1-9][0-9]*$/, message)),
        z.transform((digits: string) => Number(digits)),
      ),
      z
        .number()
        .check(z.refine((n: number) => Number.isSafeInteger(n) && n >= min && n <= max, message)),
    ),
    fallback,
  );
};

const optionalText = z.pipe(
  z.optional(z.string("must be a string")),
  z.transform((value: string | undefined) => (value?.trim() ? value.trim() : undefined)),
);

/** An IANA zone the runtime's Intl knows (what luxon's IANAZone.isValidZone checks, too). */
function isValidTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone }).format();
    return true;
  } catch {
    return false;
  }
}

const wavyEnvSchema = z.object({
  WAVY_SECRET_ID: optionalText,
  WAVY_USER_NAME: optionalText,
  WAVY_AUTH_TOKEN: optionalText,
  WAVY_API_URL: z.pipe(
    z._default(
      z.url({ protocol: /^https?$/, error: "must be an http or https URL" }),
      DEFAULTS.wavyApiUrl,
    ),
    z.transform((url: string) => new URL(url)),
  ),
  WAVY_DOWNLOAD_ORIGINS: z.pipe(
    z._default(z.string("must be a string"), DEFAULTS.downloadOrigins),
    z.transform((list: string, payload): AllowedOrigin[] => {
      try {
        return parseAllowedOrigins(list);
      } catch (error) {
        payload.issues.push({ code: "custom", message: (error as Error).message, input: list });
        return z.NEVER;
      }
    }),
  ),
  WAVY_TIMEZONE: z._default(
    z.string("must be a string").check(z.refine(isValidTimeZone, "is not an IANA time zone")),
    DEFAULTS.timeZone,
  ),
  REQUEST_BUDGET_MS: positiveInt(DEFAULTS.requestBudgetMs, LIMITS.maxRequestBudgetMs),
  MAX_CSV_BYTES: positiveInt(DEFAULTS.maxCsvBytes),
});

const exportEnvSchema = z.object({
  EXPORT_BUCKET: z.string("is required").check(z.trim(), z.minLength(1, "is required")),
  DOWNLOAD_URL_TTL_SECONDS: positiveInt(
    DEFAULTS.downloadUrlTtlSeconds,
    LIMITS.maxDownloadUrlTtlSeconds,
  ),
  // Local S3-protocol servers only speak path-style addressing; AWS needs nothing here.
  S3_FORCE_PATH_STYLE: z.pipe(
    z._default(z.enum(["true", "false"], 'must be "true" or "false"'), "false"),
    z.transform((flag: "true" | "false") => flag === "true"),
  ),
  // Unset: no completion events (a local run without a bus); the stack always sets it.
  EVENT_BUS_NAME: optionalText,
});

const workerEnvSchema = z.object({
  // Unset: Prefer: respond-async is answered 500 with a log line naming it.
  EXPORT_WORKER_FUNCTION_NAME: optionalText,
  // A timeout within the worker's safety margin leaves it no time to copy: every asynchronous
  // export would fail, so such a value is refused here (docs/contract.md, "Configuration").
  EXPORT_WORKER_TIMEOUT_SECONDS: positiveInt(
    WORKER.maxTimeoutSeconds,
    WORKER.maxTimeoutSeconds,
    WORKER.minTimeoutSeconds,
  ),
});

export interface WavyConfig {
  credentials: WavyCredentialSource;
  apiUrl: URL;
  downloadOrigins: AllowedOrigin[];
  timeZone: string;
  requestBudgetMs: number;
  maxCsvBytes: number;
}

export interface ExportConfig extends WavyConfig {
  bucket: string;
  downloadUrlTtlSeconds: number;
  s3ForcePathStyle: boolean;
  /** Where completion events go; undefined: none are put. */
  eventBusName: string | undefined;
  /** The worker the export function invokes for Prefer: respond-async (export function only). */
  workerFunctionName: string | undefined;
  workerTimeoutSeconds: number;
}

type Env = Record<string, string | undefined>;

function parse<T extends z.ZodMiniType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.join(".")} ${issue.message}`)
    .join("; ");
  throw new ConfigurationError(`Invalid configuration: ${problems}`);
}

export function loadWavyConfig(env: Env = process.env): WavyConfig {
  const parsed = parse(wavyEnvSchema, env);
  let credentials: WavyCredentialSource;
  if (parsed.WAVY_SECRET_ID) {
    credentials = { kind: "secret", secretId: parsed.WAVY_SECRET_ID };
  } else if (parsed.WAVY_USER_NAME && parsed.WAVY_AUTH_TOKEN) {
    credentials = {
      kind: "static",
      userName: parsed.WAVY_USER_NAME,
      authenticationToken: parsed.WAVY_AUTH_TOKEN,
    };
  } else {
    throw new ConfigurationError(
      "Invalid configuration: WAVY_SECRET_ID is required (or, for local runs, both WAVY_USER_NAME and WAVY_AUTH_TOKEN)",
    );
  }
  return {
    credentials,
    apiUrl: parsed.WAVY_API_URL,
    downloadOrigins: parsed.WAVY_DOWNLOAD_ORIGINS,
    timeZone: parsed.WAVY_TIMEZONE,
    requestBudgetMs: parsed.REQUEST_BUDGET_MS,
    maxCsvBytes: parsed.MAX_CSV_BYTES,
  };
}

export function loadExportConfig(env: Env = process.env): ExportConfig {
  const wavy = loadWavyConfig(env);
  const parsed = parse(exportEnvSchema, env);
  const worker = parse(workerEnvSchema, env);
  return {
    ...wavy,
    bucket: parsed.EXPORT_BUCKET,
    downloadUrlTtlSeconds: parsed.DOWNLOAD_URL_TTL_SECONDS,
    s3ForcePathStyle: parsed.S3_FORCE_PATH_STYLE,
    eventBusName: parsed.EVENT_BUS_NAME,
    workerFunctionName: worker.EXPORT_WORKER_FUNCTION_NAME,
    workerTimeoutSeconds: worker.EXPORT_WORKER_TIMEOUT_SECONDS,
  };
}

/** The companion function's environment (docs/contract.md, "Companions"): the bucket and zone. */
export interface CompanionConfig {
  bucket: string;
  s3ForcePathStyle: boolean;
  timeZone: string;
}

const companionEnvSchema = z.object({
  EXPORT_BUCKET: exportEnvSchema.shape.EXPORT_BUCKET,
  S3_FORCE_PATH_STYLE: exportEnvSchema.shape.S3_FORCE_PATH_STYLE,
  WAVY_TIMEZONE: wavyEnvSchema.shape.WAVY_TIMEZONE,
});

export function loadCompanionConfig(env: Env = process.env): CompanionConfig {
  const parsed = parse(companionEnvSchema, env);
  return {
    bucket: parsed.EXPORT_BUCKET,
    s3ForcePathStyle: parsed.S3_FORCE_PATH_STYLE,
    timeZone: parsed.WAVY_TIMEZONE,
  };
}

/** Parses once, on first use, so a bad environment surfaces as a 500 with a log line. */
export function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= load();
    return value;
  };
}

// ---- Live windows (issue 20; docs/contract.md, "Configuration") ----

const requiredName = z.string("is required").check(z.trim(), z.minLength(1, "is required"));

/** `WINDOW_TARGETS`: the targets' origins, as the stack writes them (docs/contract.md). */
const windowTargetsSchema = z.array(
  z.object({
    customerId: z.string().check(z.minLength(1)),
    subAccountId: z.nullable(z.string().check(z.minLength(1))),
    origins: z.array(z.string().check(z.minLength(1), z.maxLength(64))),
  }),
);

const windowTargets = z.pipe(
  z.optional(z.string("must be a string")),
  z.transform((text: string | undefined, context) => {
    if (text === undefined || !text.trim()) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = windowTargetsSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    context.issues.push({
      code: "custom",
      input: text,
      message: 'must be JSON [{"customerId", "subAccountId" (or null), "origins": [...]}]',
    });
    return z.NEVER;
  }),
);

const windowEventsEnvSchema = z.object({
  WINDOWS_TABLE_NAME: requiredName,
  REJECTED_BUCKET: requiredName,
  EVENT_BUS_NAME: requiredName,
  WINDOW_TARGETS: windowTargets,
  WINDOW_RETENTION_DAYS: positiveInt(WINDOW_RETENTION_DAYS.default, WINDOW_RETENTION_DAYS.max),
});

const windowsTableEnvSchema = z.object({ WINDOWS_TABLE_NAME: requiredName });

export interface WindowEventsConfig {
  tableName: string;
  rejectedBucket: string;
  retentionDays: number;
  /** Where `Send Rejected Outside Window` goes (issue 21). */
  eventBusName: string;
  /** The targets' origins; undefined: every origin stands for itself. */
  targets: OriginTarget[] | undefined;
}

/** The webhook queue's processor (lambdas/window-events). */
export function loadWindowEventsConfig(env: Env = process.env): WindowEventsConfig {
  const parsed = parse(windowEventsEnvSchema, env);
  return {
    tableName: parsed.WINDOWS_TABLE_NAME,
    rejectedBucket: parsed.REJECTED_BUCKET,
    retentionDays: parsed.WINDOW_RETENTION_DAYS,
    eventBusName: parsed.EVENT_BUS_NAME,
    targets: parsed.WINDOW_TARGETS,
  };
}

const retentionEnvSchema = z.object({
  WINDOW_RETENTION_DAYS: positiveInt(WINDOW_RETENTION_DAYS.default, WINDOW_RETENTION_DAYS.max),
});

/** The counter's snapshot reconciliation (issue 21): the TTL of the windows it writes. */
export function loadWindowRetentionDays(env: Env = process.env): number {
  return parse(retentionEnvSchema, env).WINDOW_RETENTION_DAYS;
}

/** The lookups (lambdas/windows-api) and, when set, the counter's OpenWindows. */
export function loadWindowsTableName(env: Env = process.env): string {
  return parse(windowsTableEnvSchema, env).WINDOWS_TABLE_NAME;
}

// --- The closing-notice sweeper (docs/contract.md, "Window intelligence", "Configuration"). ---

const closingNoticesEnvSchema = z.object({
  WINDOWS_TABLE_NAME: z.string("is required").check(z.trim(), z.minLength(1, "is required")),
  EVENT_BUS_NAME: z.string("is required").check(z.trim(), z.minLength(1, "is required")),
  CLOSING_NOTICES: z.optional(z.string("must be a string")),
});

export interface ClosingNoticesConfig {
  tableName: string;
  eventBusName: string;
  /** Origin -> closingNoticeMinutes; empty: nothing to sweep. */
  settings: Readonly<Record<string, number>>;
}

export function loadClosingNoticesConfig(env: Env = process.env): ClosingNoticesConfig {
  const parsed = parse(closingNoticesEnvSchema, env);
  try {
    return {
      tableName: parsed.WINDOWS_TABLE_NAME,
      eventBusName: parsed.EVENT_BUS_NAME,
      settings: parseClosingNoticeSettings(parsed.CLOSING_NOTICES),
    };
  } catch (error) {
    throw new ConfigurationError(
      `Invalid configuration: CLOSING_NOTICES ${(error as Error).message}`,
    );
  }
}
