import { z } from "zod";
import {
  ALL_SUB_ACCOUNTS,
  DEFAULTS,
  EVENT,
  LIMITS,
  METRICS_NAMESPACE,
  WINDOW_RETENTION_DAYS,
} from "../lambdas/lib/contract.js";
import { IdSchema } from "../lambdas/lib/ids.js";
import { parseClosingNoticeSettings } from "../lambdas/lib/intelligence/closing-notice-settings.js";
import { parseAllowedOrigins } from "../lambdas/lib/wavy/origins.js";

/**
 * The deployment's settings, read from CDK context (cdk.json `context`, or `-c key=value`) and
 * validated at synth, so a typo fails `cdk synth` with the key's name instead of a broken deploy.
 * docs/deploying.md documents every key; keep the two in step.
 */

/** One customer (and optionally one sub-account) whose open sessions the counter measures. */
export interface CountTarget {
  readonly customerId: string;
  readonly subAccountId?: string;
  /** Each run also stores the CSV it counts (docs/contract.md, "Scheduled snapshots"). */
  readonly snapshot?: true;
  /**
   * The business numbers (Wavy's `origin`) whose live windows belong to this target; the
   * counter's schedule input carries them (docs/contract.md, "Deployment settings").
   */
  readonly origins?: readonly string[];
}

/**
 * Where the Wavy credentials live. An imported secret may be encrypted with a customer-managed
 * KMS key, which the functions then need to decrypt with; the secret the stack creates uses
 * Secrets Manager's own key (aws/secretsmanager), which needs no grant.
 */
export type SecretSource =
  | { readonly kind: "create" }
  | { readonly kind: "name"; readonly secretName: string; readonly kmsKeyArn?: string }
  | { readonly kind: "arn"; readonly secretArn: string; readonly kmsKeyArn?: string };

export type AlarmDestination =
  | { readonly kind: "none" }
  | { readonly kind: "email"; readonly email: string }
  | { readonly kind: "topic"; readonly topicArn: string };

export interface WavySessionsConfig {
  /**
   * The CloudFormation stack's name; every name that must be unique in an account (the REST
   * API, the schedule group, the dashboard, the alarms, the metrics namespace) derives from it.
   */
  readonly stackName: string;
  readonly targets: readonly CountTarget[];
  readonly scheduleExpression: string;
  /**
   * The metric period of the counter's alarms: the longest gap between two runs of a target.
   * A rate's own period unless alarmPeriodMinutes says otherwise; a cron schedule must say.
   */
  readonly alarmPeriodSeconds: number;
  readonly scheduleFlexibleWindowMinutes: number;
  readonly secret: SecretSource;
  readonly exportRetentionDays: number;
  readonly exportMemoryMb: number;
  readonly exportWorkerMemoryMb: number;
  readonly counterMemoryMb: number;
  /** The bus completion events go to: "default" is the account's default bus. */
  readonly eventBusName: string;
  readonly counterReservedConcurrency: number;
  readonly downloadOrigins: string;
  readonly wavyApiUrl: string;
  readonly wavyTimezone: string;
  readonly downloadUrlTtlSeconds: number;
  readonly logRetentionDays: number;
  /** Every function's POWERTOOLS_LOG_LEVEL (docs/contract.md, "Deployment settings"). */
  readonly logLevel: LogLevel;
  readonly apiThrottleRateLimit: number;
  readonly apiThrottleBurstLimit: number;
  readonly alarms: AlarmDestination;
  /**
   * false for a throwaway deployment: every resource, the buckets' objects included, is deleted
   * with the stack (docs/deploying.md, "Tear-down"). true keeps data and logs past `cdk destroy`.
   */
  readonly retain: boolean;
  /** Days a closed window's item is kept before DynamoDB's TTL may delete it. */
  readonly windowRetentionDays: number;
  /** Raised after every put-secret-value of the webhook token (docs/contract.md, "Webhooks (deployed)"). */
  readonly webhookTokenVersion: number;
  /** Keep serving the previous version's token while Wavy switches to the new one. */
  readonly webhookAcceptPreviousToken: boolean;
  readonly webhookThrottleRateLimit: number;
  readonly webhookThrottleBurstLimit: number;
  /**
   * Issue 21 (docs/contract.md, "Closing notices"): origin -> closingNoticeMinutes; empty, the
   * default, creates no sweeper.
   */
  readonly closingNotices: Readonly<Record<string, number>>;
  /** Alarm `SendsRejectedOutsideWindow-<origin>` at this many in 5 minutes; undefined: none. */
  readonly rejectedSendsAlarmThreshold?: number;
}

/** Every context key this app reads, with its default where it has one. */
export const CONTEXT_KEYS = [
  "stackName",
  "targets",
  "scheduleExpression",
  "scheduleFlexibleWindowMinutes",
  "alarmPeriodMinutes",
  "wavySecretName",
  "wavySecretArn",
  "wavySecretKmsKeyArn",
  "exportRetentionDays",
  "exportMemoryMb",
  "exportWorkerMemoryMb",
  "counterMemoryMb",
  "eventBusName",
  "counterReservedConcurrency",
  "downloadOrigins",
  "wavyApiUrl",
  "wavyTimezone",
  "downloadUrlTtlSeconds",
  "logRetentionDays",
  "logLevel",
  "apiThrottleRateLimit",
  "apiThrottleBurstLimit",
  "alarmEmail",
  "alarmTopicArn",
  "retain",
  "windowRetentionDays",
  "webhookTokenVersion",
  "webhookAcceptPreviousToken",
  "webhookThrottleRateLimit",
  "webhookThrottleBurstLimit",
  "closingNotices",
  "rejectedSendsAlarmThreshold",
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

/**
 * One stack holds at most 500 CloudFormation resources; each target costs a schedule and an
 * alarm (2.1 with its share of a WavyRequestFailed alarm), and the rest of the stack about 120:
 * the live windows' 38 and the companion function's 8 included. docs/scaling.md explains how to
 * go further.
 */
export const MAX_TARGETS = 175;

/** Powertools Logger's levels (POWERTOOLS_LOG_LEVEL); DEBUG logs more, never a secret or a number. */
export const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Lambda memory: 128 MB to 10 240 MB in 1 MB steps. */
const memoryMb = (fallback: number) => intSetting(fallback, 128, 10_240);

function intSetting(fallback: number, min: number, max: number) {
  return z.preprocess(numberFromString, integer(min, max).default(fallback));
}

/** An integer setting with no default: undefined when the context does not name it. */
function optionalIntSetting(min: number, max: number) {
  return z.preprocess(numberFromString, integer(min, max).optional());
}

// `-c key=5` arrives as the string "5"; cdk.json gives a number. Accept both, nothing else.
const numberFromString = (value: unknown) =>
  typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const integer = (min: number, max: number) =>
  z
    .number({ error: "must be an integer" })
    .int("must be an integer")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** JSON given on the command line (`-c targets='[...]'`) arrives as a string. */
function jsonFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
/**
 * What each cron field may hold, per Scheduler's table (minutes hours day-of-month month
 * day-of-week year): https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based.
 * Scheduler refuses at create what passes here only in details (a value out of range, say);
 * what it also refuses, and synth used to let through, is a cron that restricts both
 * day-of-month and day-of-week or neither: one of the two must be "?" (same page, and the
 * EventBridge cron reference, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html).
 */
const CRON_FIELDS = [
  { name: "minutes", allowed: /^[0-9,*/-]+$/ },
  { name: "hours", allowed: /^[0-9,*/-]+$/ },
  { name: "day-of-month", allowed: /^(?:[0-9,*/LW-]+|\?)$/ },
  { name: "month", allowed: /^[0-9A-Za-z,*/-]+$/ },
  { name: "day-of-week", allowed: /^(?:[0-9A-Za-z,*L#-]+|\?)$/ },
  { name: "year", allowed: /^[0-9,*/-]+$/ },
] as const;

/** Why Scheduler would refuse this cron expression, or undefined if it would not. */
function cronProblem(expression: string): string | undefined {
  const fields = CRON.exec(expression)?.slice(1);
  if (!fields) return undefined;
  for (const [index, field] of fields.entries()) {
    const rule = CRON_FIELDS[index];
    if (rule && !rule.allowed.test(field)) return `its ${rule.name} field "${field}" is not valid`;
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === "?") === (dayOfWeek === "?"))
    return 'exactly one of day-of-month and day-of-week must be "?"';
  return undefined;
}
const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3_600, day: 86_400 };

/** The period of a `rate(...)` expression, or undefined for a cron expression. */
function ratePeriodSeconds(expression: string): number | undefined {
  const match = RATE.exec(expression);
  if (!match) return undefined;
  const [, amount = "0", unit = ""] = match;
  return Number(amount) * (UNIT_SECONDS[unit.replace(/s$/, "")] ?? 0);
}

const scheduleExpression = z
  .string({ error: "must be a string" })
  .trim()
  .default("rate(15 minutes)")
  .superRefine((expression, ctx) => {
    const rate = RATE.exec(expression);
    if (rate) {
      const amount = Number(rate[1]);
      const plural = rate[2]?.endsWith("s") ?? false;
      if (amount < 1) ctx.addIssue({ code: "custom", message: "rate must be at least 1" });
      else if ((ratePeriodSeconds(expression) ?? 0) > 86_400)
        // CloudWatch alarms look back at most one day, so a missing count could not be seen.
        ctx.addIssue({ code: "custom", message: `"${expression}": at most one run a day` });
      else if ((amount === 1) === plural)
        ctx.addIssue({
          code: "custom",
          message: `"${expression}": EventBridge Scheduler wants "1 minute" but "5 minutes"`,
        });
      return;
    }
    if (CRON.test(expression)) {
      const problem = cronProblem(expression);
      if (problem)
        ctx.addIssue({
          code: "custom",
          message: `"${expression}": ${problem}, e.g. "cron(0/15 * * * ? *)"`,
        });
      return;
    }
    ctx.addIssue({
      code: "custom",
      message: `"${expression}" is not a recurring EventBridge Scheduler expression; use "rate(15 minutes)" or "cron(0/15 * * * ? *)"`,
    });
  });

/**
 * A business number as Wavy's webhooks carry it in `origin`: digits only (country code and all),
 * 8-15 of them (E.164 allows at most 15).
 */
const ORIGIN = /^[0-9]{8,15}$/;

const targetSchema = z
  .object(
    {
      customerId: IdSchema,
      subAccountId: z.optional(IdSchema),
      snapshot: z.optional(z.boolean({ error: "must be true or false" })),
      origins: z.optional(
        z.array(
          z
            .string({ error: "must be a string of 8-15 digits" })
            .regex(ORIGIN, 'must be a business number of 8-15 digits, e.g. "5511999990000"'),
          { error: 'must be a JSON array of business numbers such as ["5511999990000"]' },
        ),
      ),
    },
    { error: "must be an object {customerId, subAccountId?, snapshot?, origins?}" },
  )
  .strict();

const targets = z.preprocess(
  jsonFromString,
  z
    .array(targetSchema, { error: 'must be a JSON array such as [{"customerId": "42"}]' })
    .max(MAX_TARGETS, `lists more than ${MAX_TARGETS} targets; see docs/scaling.md`)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      // An origin's windows count for one target only: the same number under two targets
      // would be counted twice.
      const originOwner = new Map<string, string>();
      list.forEach((target, index) => {
        const key = `${target.customerId}/${target.subAccountId ?? ALL_SUB_ACCOUNTS}`;
        if (seen.has(key))
          ctx.addIssue({ code: "custom", path: [index], message: `repeats target ${key}` });
        seen.add(key);
        target.origins?.forEach((origin, position) => {
          const owner = originOwner.get(origin);
          if (owner !== undefined)
            ctx.addIssue({
              code: "custom",
              path: [index, "origins", position],
              message: `repeats origin ${origin}, already listed for target ${owner}`,
            });
          else originOwner.set(origin, key);
        });
      });
    }),
);

// `-c flag=true` arrives as the string "true"; cdk.json gives a boolean. Accept both, nothing else.
const booleanSetting = z.preprocess(
  (value) => (value === "true" ? true : value === "false" ? false : value),
  z.boolean({ error: "must be true or false" }).default(false),
);

const optionalText = z.preprocess(
  (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
  z.string({ error: "must be a string" }).trim().optional(),
);

// arn:partition:secretsmanager:region:account:secret:name-XXXXXX (the full ARN, suffix included,
// so the IAM policy can name exactly one secret).
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;
// A key's ARN, not an alias's: kms:Decrypt is authorised against the key itself
// (https://docs.aws.amazon.com/kms/latest/developerguide/cmks-in-iam-policies.html).
const KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The stack name as the metrics namespace too, so two deployments never mix their metrics; the
 * default keeps the contract's namespace (METRICS_NAMESPACE).
 */
const DEFAULT_STACK_NAME = METRICS_NAMESPACE;
// CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
// 56 leaves room for "-counter" in the schedule group's name, which may hold 64
// (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateScheduleGroup.html).
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,55}$/;

const contextSchema = z
  .object({
    stackName: z
      .string({ error: "must be a string" })
      .trim()
      .default(DEFAULT_STACK_NAME)
      .refine(
        (name) => STACK_NAME.test(name),
        "must start with a letter and hold only letters, digits and hyphens, at most 56 characters",
      ),
    targets,
    scheduleExpression,
    // Spreads the targets' runs over a window so they don't all call Wavy in the same second.
    scheduleFlexibleWindowMinutes: intSetting(5, 1, 1_440),
    // Whole minutes are what a CloudWatch alarm period accepts (10, 20, 30 s or multiples of
    // 60); one day is as far as the schedule is allowed to space runs.
    alarmPeriodMinutes: optionalIntSetting(1, 1_440),
    wavySecretName: optionalText.refine(
      (name) => name === undefined || SECRET_NAME.test(name),
      "is not a Secrets Manager secret name",
    ),
    wavySecretArn: optionalText.refine(
      (arn) => arn === undefined || SECRET_ARN.test(arn),
      "must be the secret's complete ARN, ending in its 6-character suffix (-AbCdEf)",
    ),
    wavySecretKmsKeyArn: optionalText.refine(
      (arn) => arn === undefined || KMS_KEY_ARN.test(arn),
      "must be a KMS key's ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias",
    ),
    exportRetentionDays: intSetting(90, 1, 36_500),
    // docs/benchmarks.md: the smallest size whose CPU share copies a 5 M-row (170 MB) CSV and
    // writes its Parquet companion inside the 25 s budget with a 1.5x margin (measured over TLS
    // as deployed, ~21-25 CPU s/GB: up to ~190-220 MB in 25 s), and holds the peak RSS (~145-160
    // MB whatever the size) 1.5 times. 256 MB took ~375 MB before the companion; with it, ~90-110.
    exportMemoryMb: memoryMb(512),
    // docs/benchmarks.md, "The worker": the size whose CPU share copies MAX_CSV_BYTES (5 GiB)
    // well inside the worker's 15 minutes; its peak RSS (~200-260 MB, growing with the CSV) fits 1.5 times.
    exportWorkerMemoryMb: memoryMb(512),
    counterMemoryMb: memoryMb(512),
    // EventBridge bus names: 1-256 of A-Z a-z 0-9 . _ - (and / for partner buses, not ours).
    eventBusName: z
      .string({ error: "must be a string" })
      .trim()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, "is not an EventBridge event bus name")
      .default(EVENT.defaultBusName),
    // 0: no reservation (docs/deploying.md says what reserving buys and costs). Lambda keeps at
    // least 100 executions unreserved, and a young account's whole quota may be 10 or 50, so
    // any reservation there fails the deploy
    // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
    counterReservedConcurrency: intSetting(0, 0, 1_000),
    downloadOrigins: z
      .string({ error: "must be a comma-separated string of origins" })
      .trim()
      .default(DEFAULTS.downloadOrigins)
      .superRefine((list, ctx) => {
        try {
          parseAllowedOrigins(list);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      }),
    wavyApiUrl: z
      .url({ protocol: /^https$/, error: "must be an https URL" })
      .default(DEFAULTS.wavyApiUrl),
    wavyTimezone: z
      .string({ error: "must be a string" })
      .default(DEFAULTS.timeZone)
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat("en", { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, "is not an IANA time zone"),
    downloadUrlTtlSeconds: intSetting(
      DEFAULTS.downloadUrlTtlSeconds,
      1,
      LIMITS.maxDownloadUrlTtlSeconds,
    ),
    logLevel: z
      .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` })
      .default("INFO"),
    logRetentionDays: intSetting(30, 1, 3_653).refine(
      (days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days),
      `must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
    ),
    apiThrottleRateLimit: intSetting(10, 1, 10_000),
    apiThrottleBurstLimit: intSetting(20, 1, 5_000),
    windowRetentionDays: intSetting(
      WINDOW_RETENTION_DAYS.default,
      WINDOW_RETENTION_DAYS.min,
      WINDOW_RETENTION_DAYS.max,
    ),
    webhookTokenVersion: intSetting(1, 1, 1_000),
    webhookAcceptPreviousToken: booleanSetting,
    // Wavy delivers callbacks in bulk (docs/contract.md, "Webhooks (deployed)"): well above the
    // IAM API's 10 a second, far below API Gateway's account default of 10,000.
    webhookThrottleRateLimit: intSetting(200, 1, 10_000),
    webhookThrottleBurstLimit: intSetting(400, 1, 5_000),
    // Issue 21: the same parser as the sweeper's CLOSING_NOTICES, so synth refuses what the
    // function would (`-c closingNotices='{"5511999990000": 60}'` arrives as a string).
    closingNotices: z.unknown().transform((value, ctx) => {
      try {
        return parseClosingNoticeSettings(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
    rejectedSendsAlarmThreshold: optionalIntSetting(1, 1_000_000),
    alarmEmail: optionalText.refine(
      (email) => email === undefined || EMAIL.test(email),
      "is not an e-mail address",
    ),
    alarmTopicArn: optionalText.refine(
      (arn) => arn === undefined || TOPIC_ARN.test(arn),
      "is not an SNS topic ARN",
    ),
    // `-c retain=false` arrives as the string "false".
    retain: z.preprocess(
      (value) => (value === "true" ? true : value === "false" ? false : value),
      z.boolean({ error: "must be true or false" }).default(true),
    ),
  })
  .superRefine((value, ctx) => {
    if (value.wavySecretName && value.wavySecretArn)
      ctx.addIssue({
        code: "custom",
        path: ["wavySecretArn"],
        message: "set either wavySecretName or wavySecretArn, not both",
      });
    if (value.wavySecretKmsKeyArn && !value.wavySecretName && !value.wavySecretArn)
      ctx.addIssue({
        code: "custom",
        path: ["wavySecretKmsKeyArn"],
        message:
          "only applies to an imported secret (wavySecretName or wavySecretArn); the secret the stack creates uses aws/secretsmanager",
      });
    if (value.alarmEmail && value.alarmTopicArn)
      ctx.addIssue({
        code: "custom",
        path: ["alarmTopicArn"],
        message: "set either alarmEmail or alarmTopicArn, not both",
      });
    const period = ratePeriodSeconds(value.scheduleExpression);
    if (period !== undefined && value.scheduleFlexibleWindowMinutes * 60 > period)
      ctx.addIssue({
        code: "custom",
        path: ["scheduleFlexibleWindowMinutes"],
        message: `must not exceed the schedule's period (${period / 60} minutes)`,
      });
    // A cron's runs need not be evenly spaced (every 15 minutes from 8 to 20 on weekdays), so
    // only the operator knows the longest gap an alarm must tolerate.
    const alarmMinutes = value.alarmPeriodMinutes;
    if (period === undefined && alarmMinutes === undefined && CRON.test(value.scheduleExpression))
      ctx.addIssue({
        code: "custom",
        path: ["alarmPeriodMinutes"],
        message:
          "is required with a cron schedule: the longest gap in minutes between two runs, the period of the NoCount and WavyRequestFailed alarms",
      });
    if (period !== undefined && alarmMinutes !== undefined && alarmMinutes * 60 < period)
      ctx.addIssue({
        code: "custom",
        path: ["alarmPeriodMinutes"],
        message: `must not be shorter than the schedule's period (${period / 60} minutes)`,
      });
    if (
      period === undefined &&
      alarmMinutes !== undefined &&
      value.scheduleFlexibleWindowMinutes > alarmMinutes
    )
      ctx.addIssue({
        code: "custom",
        path: ["scheduleFlexibleWindowMinutes"],
        message: `must not exceed alarmPeriodMinutes (${alarmMinutes})`,
      });
    // Version 1 has no previous version whose routes could be kept.
    if (value.webhookAcceptPreviousToken && value.webhookTokenVersion < 2)
      ctx.addIssue({
        code: "custom",
        path: ["webhookAcceptPreviousToken"],
        message:
          "needs webhookTokenVersion 2 or more: there is no previous token before the first rotation (docs/deploying.md, Webhooks)",
      });
    if (value.webhookThrottleBurstLimit < value.webhookThrottleRateLimit)
      ctx.addIssue({
        code: "custom",
        path: ["webhookThrottleBurstLimit"],
        message: "must be at least webhookThrottleRateLimit",
      });
    if (value.apiThrottleBurstLimit < value.apiThrottleRateLimit)
      ctx.addIssue({
        code: "custom",
        path: ["apiThrottleBurstLimit"],
        message: "must be at least apiThrottleRateLimit",
      });
  });

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Parses the context; `read` is `(key) => node.tryGetContext(key)`. Throws a ConfigError that
 * names every bad key at once.
 */
export function readConfig(read: (key: ContextKey) => unknown): WavySessionsConfig {
  const raw = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, read(key) ?? undefined]));
  const result = contextSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const [key = "(root)", ...rest] = issue.path.map(String);
      const where = rest.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("");
      return `  - context "${key}${where}" ${issue.message}`;
    });
    throw new ConfigError(
      `Invalid wavy-sessions configuration (see docs/deploying.md):\n${problems.join("\n")}`,
    );
  }
  const value = result.data;
  const period = ratePeriodSeconds(value.scheduleExpression);
  const kmsKey = value.wavySecretKmsKeyArn ? { kmsKeyArn: value.wavySecretKmsKeyArn } : {};
  return {
    stackName: value.stackName,
    targets: value.targets.map((target) => ({
      customerId: target.customerId,
      ...(target.subAccountId !== undefined && { subAccountId: target.subAccountId }),
      ...(target.snapshot === true && { snapshot: true as const }),
      ...(target.origins !== undefined && target.origins.length > 0 && { origins: target.origins }),
    })),
    scheduleExpression: value.scheduleExpression,
    // readConfig's schema made sure one of the two is there.
    alarmPeriodSeconds: value.alarmPeriodMinutes ? value.alarmPeriodMinutes * 60 : (period ?? 0),
    scheduleFlexibleWindowMinutes: value.scheduleFlexibleWindowMinutes,
    secret: value.wavySecretArn
      ? { kind: "arn", secretArn: value.wavySecretArn, ...kmsKey }
      : value.wavySecretName
        ? { kind: "name", secretName: value.wavySecretName, ...kmsKey }
        : { kind: "create" },
    exportRetentionDays: value.exportRetentionDays,
    exportMemoryMb: value.exportMemoryMb,
    exportWorkerMemoryMb: value.exportWorkerMemoryMb,
    counterMemoryMb: value.counterMemoryMb,
    eventBusName: value.eventBusName,
    counterReservedConcurrency: value.counterReservedConcurrency,
    downloadOrigins: value.downloadOrigins,
    wavyApiUrl: value.wavyApiUrl,
    wavyTimezone: value.wavyTimezone,
    downloadUrlTtlSeconds: value.downloadUrlTtlSeconds,
    logRetentionDays: value.logRetentionDays,
    logLevel: value.logLevel,
    apiThrottleRateLimit: value.apiThrottleRateLimit,
    apiThrottleBurstLimit: value.apiThrottleBurstLimit,
    alarms: value.alarmTopicArn
      ? { kind: "topic", topicArn: value.alarmTopicArn }
      : value.alarmEmail
        ? { kind: "email", email: value.alarmEmail }
        : { kind: "none" },
    retain: value.retain,
    windowRetentionDays: value.windowRetentionDays,
    webhookTokenVersion: value.webhookTokenVersion,
    webhookAcceptPreviousToken: value.webhookAcceptPreviousToken,
    webhookThrottleRateLimit: value.webhookThrottleRateLimit,
    webhookThrottleBurstLimit: value.webhookThrottleBurstLimit,
    closingNotices: value.closingNotices,
    ...(value.rejectedSendsAlarmThreshold !== undefined && {
      rejectedSendsAlarmThreshold: value.rejectedSendsAlarmThreshold,
    }),
  };
}
