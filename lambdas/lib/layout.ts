import { ALL_SUB_ACCOUNTS, PARTITIONS, S3_PREFIX } from "./contract.js";

/**
 * The bucket's key layout (docs/contract.md, "S3 layout"): the one definition every object key,
 * the Glue tables' storage location templates and their partition projections derive from.
 *
 * Two kinds of key:
 * - Data keys (`exports/`, `sessions/`, `closing/`) are versioned: a `KeyLayout` says how their
 *   partition folders are made, and each manifest records the `layoutVersion` its keys were made
 *   under, so a manifest of any earlier layout is still read (and trusted) by its own layout's
 *   rules after the current one changes.
 * - Index keys (`manifests/`, `history/`, `idempotency/`) are how a reader finds a manifest
 *   before it knows its layout, so they belong to no version: changing one is a migration.
 *
 * Imports only contract.ts, so the stack imports it too and a bundle carries nothing more.
 * Functions take the layout as a parameter and never reach for a registry themselves: which
 * layout applies is the caller's to say (the current one to write, the manifest's to read).
 */

/** What an export's data keys are made from. */
export interface KeyTarget {
  customerId: string;
  subAccountId: string | null;
}

/** One partition folder of a data key, `<segment>=<value>/`, and its Glue partition column. */
export interface Partition {
  readonly segment: string;
  readonly column: string;
  /** The folder's value for an export of `target` created at `createdAt`. */
  value(target: KeyTarget, createdAt: Date): string;
  /** The column's partition projection, for exports kept `retentionDays`. */
  projection(retentionDays: number): Projection;
}

/**
 * How Athena computes a partition column's values
 * (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html), in
 * the terms of aws-cdk-lib's `glue.PartitionProjectionConfiguration`, which the Glue tables
 * (infra/constructs/data-catalog.ts) render into table parameters and check at synth.
 */
export type Projection =
  | { readonly type: "injected" }
  | {
      readonly type: "date";
      /** Java date format of the folder's value. */
      readonly format: string;
      /** Range ends, dates in `format` or relative (`NOW-90DAYS`). */
      readonly min: string;
      readonly max: string;
      readonly step?: {
        readonly interval: number;
        readonly unit: "YEARS" | "MONTHS" | "WEEKS" | "DAYS" | "HOURS" | "MINUTES" | "SECONDS";
      };
    }
  | {
      readonly type: "integer";
      readonly min: number;
      readonly max: number;
      /** Zero-padded to this many digits. */
      readonly digits?: number;
    };

export interface KeyLayout {
  /** Recorded in each manifest as `layoutVersion`; a manifest without one is layout 1. */
  readonly version: number;
  /** The partition folders of every data key, outermost first. */
  readonly partitions: readonly Partition[];
}

/** The data prefixes a layout shapes (S3_PREFIX). */
export type DataPrefix =
  | typeof S3_PREFIX.exports
  | typeof S3_PREFIX.sessions
  | typeof S3_PREFIX.closing;

const [customer, subAccount, date] = [
  PARTITIONS.find(({ column }) => column === "customer_id"),
  PARTITIONS.find(({ column }) => column === "sub_account_id"),
  PARTITIONS.find(({ column }) => column === "export_date"),
] as const;
if (!customer || !subAccount || !date) throw new Error("contract.ts PARTITIONS lost a column");

/**
 * `customer_id` and `sub_account_id` are `injected`: any id can be exported, so their values
 * cannot be enumerated, and Athena takes them from each query's WHERE clause
 * (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html).
 */
export const CUSTOMER_PARTITION: Partition = {
  segment: customer.segment,
  column: customer.column,
  value: (target) => target.customerId,
  projection: () => ({ type: "injected" }),
};

export const SUB_ACCOUNT_PARTITION: Partition = {
  segment: subAccount.segment,
  column: subAccount.column,
  value: (target) => target.subAccountId ?? ALL_SUB_ACCOUNTS,
  projection: () => ({ type: "injected" }),
};

/** Layout 1: `customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/`, the UTC date of createdAt. */
export const LAYOUT_1: KeyLayout = {
  version: 1,
  partitions: [
    CUSTOMER_PARTITION,
    SUB_ACCOUNT_PARTITION,
    {
      segment: date.segment,
      column: date.column,
      value: (_target, createdAt) => createdAt.toISOString().slice(0, 10),
      // The UTC dates an export can still be stored under: the retention rule deletes older ones.
      projection: (retentionDays) => ({
        type: "date",
        format: "yyyy-MM-dd",
        min: `NOW-${retentionDays}DAYS`,
        max: "NOW",
        step: { interval: 1, unit: "DAYS" },
      }),
    },
  ],
};

/** What is written now. Only a new entry in LAYOUTS may change this (docs/contract.md, "S3 layout"). */
export const CURRENT_LAYOUT: KeyLayout = LAYOUT_1;

/** Every layout a stored manifest may name, by version: readers never drop one. */
export const LAYOUTS: Readonly<Record<number, KeyLayout>> = { 1: LAYOUT_1 };

/** The partition folders of a data key: `customerId=42/subAccountId=all/date=2026-11-28/` in layout 1. */
export function partitionPath(layout: KeyLayout, target: KeyTarget, createdAt: Date): string {
  return folders(layout.partitions, target, createdAt);
}

function folders(partitions: readonly Partition[], target: KeyTarget, createdAt: Date): string {
  return partitions.map((p) => `${p.segment}=${p.value(target, createdAt)}/`).join("");
}

/** `<prefix><partition folders><exportId><suffix>`: every data key. */
export function dataKey(
  layout: KeyLayout,
  prefix: DataPrefix,
  target: KeyTarget,
  exportId: string,
  createdAt: Date,
  suffix: string,
): string {
  return `${prefix}${partitionPath(layout, target, createdAt)}${exportId}${suffix}`;
}

/** Glue's `storage.location.template` below a table's prefix: `customerId=${customer_id}/…`. */
export function locationTemplate(layout: KeyLayout): string {
  return layout.partitions.map(({ segment, column }) => `${segment}=\${${column}}/`).join("");
}

// Index keys: the same under every layout.

/** `manifests/<exportId>.json` */
export function manifestKey(exportId: string): string {
  return `${S3_PREFIX.manifests}${exportId}.json`;
}

/** `idempotency/<sha256 of the key, hex>.json`: the caller hashes, so this module needs no crypto. */
export function idempotencyRecordKeyOf(keySha256Hex: string): string {
  return `${S3_PREFIX.idempotency}${keySha256Hex}.json`;
}

/** 13 digits hold every millisecond timestamp up to the year 2286. */
const INVERTED_BASE = 9_999_999_999_999;
const HISTORY_ENTRY = /^(?<stamp>\d{13})-(?<exportId>[A-Za-z0-9_-]{1,128})\.json$/;

/** `history/customerId=<id>/subAccountId=<id|all>/`: one target's entries. */
export function historyPrefix(target: KeyTarget): string {
  const path = folders([CUSTOMER_PARTITION, SUB_ACCOUNT_PARTITION], target, new Date(0));
  return `${S3_PREFIX.history}${path}`;
}

/** The latest time a history stamp holds (the year 2286); the earliest is 1970. */
export const HISTORY_STAMP_MAX_MS = INVERTED_BASE;

/**
 * 9999999999999 − ms, 13 digits: ascending key order is newest first. Any time the history query
 * accepts is clamped to what 13 digits hold, 1970 to 2286 (a bound before 1970 must not wrap).
 */
export function invertedStamp(time: Date): string {
  const ms = Math.min(Math.max(time.getTime(), 0), INVERTED_BASE);
  return String(INVERTED_BASE - ms).padStart(13, "0");
}

/** `<inverted createdAt ms>-<exportId>.json`: an entry's name below its target's prefix. */
export function historyEntryName(createdAt: Date, exportId: string): string {
  return `${invertedStamp(createdAt)}-${exportId}.json`;
}

/** An entry's name read back, or undefined when it is not one. */
export function parseHistoryEntryName(
  name: string,
): { stamp: string; exportId: string } | undefined {
  const groups = HISTORY_ENTRY.exec(name)?.groups;
  if (groups?.stamp === undefined || groups.exportId === undefined) return undefined;
  return { stamp: groups.stamp, exportId: groups.exportId };
}
