import { randomBytes } from "node:crypto";
import * as z from "zod/mini";
import {
  type COMPANION,
  EXPORT_STATUS,
  EXPORT_TRIGGER,
  ID_PATTERN,
  S3_PREFIX,
} from "../contract.js";
import type { SessionTarget } from "../ids.js";
import * as layouts from "../layout.js";
import { CURRENT_LAYOUT, type KeyLayout, LAYOUTS } from "../layout.js";

/** What every export document has, whatever its status (docs/contract.md, "The export document"). */
interface ManifestBase {
  exportId: string;
  trigger: "request" | "schedule";
  customerId: string;
  subAccountId: string | null;
  bucket: string;
  key: string;
  createdAt: string;
  /**
   * The key layout `key` (and `sessionsKey`) were made under (docs/contract.md, "Key layout
   * versions"); absent from manifests written before layouts had versions, which are layout 1.
   */
  layoutVersion?: number;
}

export interface RunningManifest extends ManifestBase {
  status: "running";
  /** By then the worker has ended or is dead: read later, the export is failed. */
  deadlineAt: string;
  /** Set by the worker that claimed the export; a duplicate delivery finds it and stops. */
  startedAt?: string;
}

export interface SucceededManifest extends ManifestBase {
  status: "succeeded";
  rows: number;
  bytes: number;
  sha256: string;
  /**
   * The normalised Parquet companion of the CSV (one record per data row). Absent (null in the
   * document) on manifests written before the companion existed.
   */
  sessionsKey?: string | null;
  /** Absent on manifests written before exports had a status. */
  completedAt?: string;
}

export interface FailedManifest extends ManifestBase {
  status: "failed";
  error: { code: string; message: string };
  completedAt: string;
}

/** The manifest kept in S3: the document without the URL, which is minted fresh on read. */
export type ExportManifest = RunningManifest | SucceededManifest | FailedManifest;

export type SucceededDocument = Omit<SucceededManifest, "sessionsKey"> & {
  sessionsKey: string | null;
  /** Whether its Parquet companion is built (docs/contract.md, "Companions"); not in the manifest. */
  companion: CompanionDocument;
  downloadUrl: string;
  downloadUrlExpiresAt: string;
  /** GET /sessions/closing only. */
  closing?: ClosingDocument;
};

/** A succeeded export's `companion` (docs/contract.md, "The export document"): read, not stored. */
export interface CompanionDocument {
  status: (typeof COMPANION.status)[keyof typeof COMPANION.status];
  /** sessions/…/<exportId>.parquet, where the companion is or will be. */
  key: string;
}

/** The closing-soon list of GET /sessions/closing. */
export interface ClosingDocument {
  withinMinutes: number;
  /** Destinations whose window closes in (createdAt, createdAt + withinMinutes]. */
  count: number;
  key: string;
  downloadUrl: string;
  downloadUrlExpiresAt: string;
}

/** What the API answers: a succeeded export carries a fresh download URL. */
export type ExportDocument = RunningManifest | SucceededDocument | FailedManifest;

const count = z.number().check(z.refine(Number.isSafeInteger), z.nonnegative());

const base = {
  exportId: z.string(),
  customerId: z.string(),
  subAccountId: z.nullable(z.string()),
  bucket: z.string(),
  key: z.string(),
  createdAt: z.string(),
  // Absent from manifests written before layouts had versions: layout 1.
  layoutVersion: z.optional(z.number().check(z.refine(Number.isSafeInteger), z.positive())),
};
const trigger = z.enum([EXPORT_TRIGGER.request, EXPORT_TRIGGER.schedule]);

const RunningSchema = z.object({
  ...base,
  trigger,
  status: z.literal(EXPORT_STATUS.running),
  deadlineAt: z.string(),
  startedAt: z.optional(z.string()),
});

const SucceededSchema = z.object({
  ...base,
  // Manifests written before exports had a status or a trigger: synchronous API exports.
  trigger: z._default(trigger, EXPORT_TRIGGER.request),
  status: z._default(z.literal(EXPORT_STATUS.succeeded), EXPORT_STATUS.succeeded),
  rows: count,
  bytes: count,
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  // Absent from manifests written before the companion existed.
  sessionsKey: z.optional(z.nullable(z.string())),
  completedAt: z.optional(z.string()),
});

const FailedSchema = z.object({
  ...base,
  trigger,
  status: z.literal(EXPORT_STATUS.failed),
  error: z.object({ code: z.string(), message: z.string() }),
  completedAt: z.string(),
});

/** A stored manifest, any status; one without a status is an older succeeded one. */
export const ExportManifestSchema = z.union([RunningSchema, FailedSchema, SucceededSchema]);

/** Time-ordered, so a listing of manifests sorts by creation: `20261128T104915Z-<16 hex>`. */
export function newExportId(createdAt: Date): string {
  const stamp = createdAt
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
  return `${stamp}-${randomBytes(8).toString("hex")}`;
}

/**
 * The key layout a manifest's keys were made under (docs/contract.md, "Key layout versions"), or
 * undefined for a version this code does not know, which nothing may trust.
 */
export function layoutOf(manifest: Pick<ExportManifest, "layoutVersion">): KeyLayout | undefined {
  return LAYOUTS[manifest.layoutVersion ?? 1];
}

/** What a new export's manifest records of its keys: its CSV's key and the layout it is in. */
export function newExportKeys(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
): { key: string; layoutVersion: number } {
  return { key: exportKey(target, exportId, createdAt), layoutVersion: CURRENT_LAYOUT.version };
}

/** `exports/<partition folders><exportId>.csv`; layout 1: `exports/customerId=…/subAccountId=…/date=…/<exportId>.csv` */
export function exportKey(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  layout: KeyLayout = CURRENT_LAYOUT,
): string {
  return layouts.dataKey(layout, S3_PREFIX.exports, target, exportId, createdAt, ".csv");
}

/** `sessions/<partition folders><exportId>.parquet` */
export function sessionsKey(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  layout: KeyLayout = CURRENT_LAYOUT,
): string {
  return layouts.dataKey(layout, S3_PREFIX.sessions, target, exportId, createdAt, ".parquet");
}

/** `closing/<partition folders><exportId>-within-<minutes>m.csv` */
export function closingKey(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  withinMinutes: number,
  layout: KeyLayout = CURRENT_LAYOUT,
): string {
  const suffix = `-within-${withinMinutes}m.csv`;
  return layouts.dataKey(layout, S3_PREFIX.closing, target, exportId, createdAt, suffix);
}

/**
 * The manifest trust rule (docs/contract.md, "S3 layout"): a manifest may name only the
 * configured bucket and its own export's keys, the ones exportKey() and sessionsKey() give for its
 * target, id and date under the manifest's own layout (so a manifest of any earlier layout is
 * still trusted after the current one changes, and one naming an unknown layout is not).
 * Manifests are data anyone with write access to the bucket can rewrite; without this, a
 * manifest pointing at `idempotency/…` or another bucket would get a working presigned URL.
 */
export function namesOwnCsv(manifest: ExportManifest, bucket: string): boolean {
  if (manifest.bucket !== bucket) return false;
  const layout = layoutOf(manifest);
  if (layout === undefined) return false;
  const { customerId, subAccountId } = manifest;
  if (!ID_PATTERN.test(customerId)) return false;
  if (subAccountId !== null && !ID_PATTERN.test(subAccountId)) return false;
  const createdAt = new Date(manifest.createdAt);
  if (Number.isNaN(createdAt.getTime())) return false;
  const target = { customerId, subAccountId };
  if (manifest.key !== exportKey(target, manifest.exportId, createdAt, layout)) return false;
  // The companion's key is only named, never presigned, but it is held to the same rule.
  if (manifest.status !== EXPORT_STATUS.succeeded || typeof manifest.sessionsKey !== "string") {
    return true;
  }
  return manifest.sessionsKey === sessionsKey(target, manifest.exportId, createdAt, layout);
}

/** `manifests/<exportId>.json`, under every layout. */
export function manifestKey(exportId: string): string {
  return layouts.manifestKey(exportId);
}

export function targetOf(manifest: ExportManifest): SessionTarget {
  return { customerId: manifest.customerId, subAccountId: manifest.subAccountId };
}
