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
import {
  CURRENT_LAYOUT,
  type DataPrefix,
  dataKey,
  historyEntryName,
  historyPrefix,
  type KeyLayout,
  LAYOUTS,
} from "../layout.js";

export { manifestKey } from "../layout.js";

/**
 * The manifest kept in S3, by status (docs/contract.md, "The export document"): the schemas are
 * the one statement of its shape, and the types are read from them. What older manifests lack is
 * optional or defaulted here, so every manifest ever written is still read.
 */
const count = z.number().check(z.refine(Number.isSafeInteger), z.nonnegative());
const trigger = z.enum([EXPORT_TRIGGER.request, EXPORT_TRIGGER.schedule]);
const base = {
  exportId: z.string(),
  customerId: z.string(),
  subAccountId: z.nullable(z.string()),
  bucket: z.string(),
  key: z.string(),
  createdAt: z.string(),
  trigger,
  // The layout `key` and `sessionsKey` were made under; absent before layouts had versions: 1.
  layoutVersion: z.optional(z.number().check(z.refine(Number.isSafeInteger), z.positive())),
};

const RunningSchema = z.object({
  ...base,
  status: z.literal(EXPORT_STATUS.running),
  // By then the run has ended or is dead: read later, the export is failed.
  deadlineAt: z.string(),
  // Set by the run that holds the export; a duplicate delivery of the worker's event finds it.
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
  // The Parquet companion's key; absent before the companion existed (null in the document).
  sessionsKey: z.optional(z.nullable(z.string())),
  completedAt: z.optional(z.string()),
});

const FailedSchema = z.object({
  ...base,
  status: z.literal(EXPORT_STATUS.failed),
  error: z.object({ code: z.string(), message: z.string() }),
  completedAt: z.string(),
});

/** A stored manifest, any status; one without a status is an older succeeded one. */
export const ExportManifestSchema = z.union([RunningSchema, FailedSchema, SucceededSchema]);

export type RunningManifest = z.infer<typeof RunningSchema>;
export type SucceededManifest = z.infer<typeof SucceededSchema>;
export type FailedManifest = z.infer<typeof FailedSchema>;
/** The document without its download URL, which is minted fresh on every read. */
export type ExportManifest = z.infer<typeof ExportManifestSchema>;

/** What the API answers: a succeeded export carries a fresh download URL. */
export type ExportDocument = RunningManifest | SucceededDocument | FailedManifest;

/** `companion` is read from the object, not stored (docs/contract.md, "Companions"); `closing`
 * is GET /sessions/closing's list of the destinations whose window closes within the minutes. */
export type SucceededDocument = Omit<SucceededManifest, "sessionsKey"> &
  DownloadUrl & {
    sessionsKey: string | null;
    companion: CompanionDocument;
    closing?: { withinMinutes: number; count: number; key: string } & DownloadUrl;
  };

export interface DownloadUrl {
  downloadUrl: string;
  downloadUrlExpiresAt: string;
}

export interface CompanionDocument {
  status: (typeof COMPANION.status)[keyof typeof COMPANION.status];
  /** sessions/…/<exportId>.parquet, where the companion is or will be. */
  key: string;
}

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
export function newExportKeys(target: SessionTarget, exportId: string, createdAt: Date) {
  return { key: exportKey(target, exportId, createdAt), layoutVersion: CURRENT_LAYOUT.version };
}

/**
 * The data keys (lambdas/lib/layout.ts), under the current layout unless given the manifest's:
 * `exports/<partition folders><exportId>.csv`, `sessions/….parquet`, `closing/…-within-<m>m.csv`.
 */
const dataKeyOf =
  (prefix: DataPrefix, suffix: string) =>
  (target: SessionTarget, exportId: string, createdAt: Date, layout = CURRENT_LAYOUT) =>
    dataKey(layout, prefix, target, exportId, createdAt, suffix);
export const exportKey = dataKeyOf(S3_PREFIX.exports, ".csv");
export const sessionsKey = dataKeyOf(S3_PREFIX.sessions, ".parquet");
export const closingKey = (target: SessionTarget, id: string, createdAt: Date, minutes: number) =>
  dataKeyOf(S3_PREFIX.closing, `-within-${minutes}m.csv`)(target, id, createdAt);

/** The run history's entry (docs/contract.md, "Run history"): an index key, alike in every layout. */
export function historyEntryKey(manifest: ExportManifest): string {
  const name = historyEntryName(new Date(manifest.createdAt), manifest.exportId);
  return `${historyPrefix(targetOf(manifest))}${name}`;
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
  const layout = layoutOf(manifest);
  const { customerId, subAccountId, exportId } = manifest;
  const createdAt = new Date(manifest.createdAt);
  if (
    manifest.bucket !== bucket ||
    layout === undefined ||
    !ID_PATTERN.test(customerId) ||
    (subAccountId !== null && !ID_PATTERN.test(subAccountId)) ||
    Number.isNaN(createdAt.getTime())
  ) {
    return false;
  }
  const target = targetOf(manifest);
  if (manifest.key !== exportKey(target, exportId, createdAt, layout)) return false;
  // The companion's key is only named, never presigned, but it is held to the same rule.
  const named = manifest.status === EXPORT_STATUS.succeeded ? manifest.sessionsKey : undefined;
  return typeof named !== "string" || named === sessionsKey(target, exportId, createdAt, layout);
}

export function targetOf(manifest: ExportManifest): SessionTarget {
  return { customerId: manifest.customerId, subAccountId: manifest.subAccountId };
}
