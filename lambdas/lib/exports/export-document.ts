import { randomBytes } from "node:crypto";
import * as z from "zod/mini";
import { PARTITIONS, S3_PREFIX } from "../contract.js";
import { type SessionTarget, subAccountLabel } from "../ids.js";

/** What POST /exports answers and GET /exports/{exportId} reads back (docs/contract.md, "The export document"). */
export interface ExportDocument {
  exportId: string;
  customerId: string;
  subAccountId: string | null;
  bucket: string;
  key: string;
  /** The normalised Parquet companion of the CSV (one record per data row); null before it existed. */
  sessionsKey: string | null;
  rows: number;
  bytes: number;
  sha256: string;
  createdAt: string;
  downloadUrl: string;
  downloadUrlExpiresAt: string;
  /** GET /sessions/closing only. */
  closing?: ClosingDocument;
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

/** The manifest kept in S3: the document without the URLs, which are minted fresh on read. */
export type ExportManifest = Omit<
  ExportDocument,
  "downloadUrl" | "downloadUrlExpiresAt" | "closing" | "sessionsKey"
> & { sessionsKey?: string | null };

const count = z.number().check(z.refine(Number.isSafeInteger), z.nonnegative());

export const ExportManifestSchema = z.object({
  exportId: z.string(),
  customerId: z.string(),
  subAccountId: z.nullable(z.string()),
  bucket: z.string(),
  key: z.string(),
  // Absent from manifests written before the companion existed.
  sessionsKey: z.optional(z.nullable(z.string())),
  rows: count,
  bytes: count,
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  createdAt: z.string(),
});

/** Time-ordered, so a listing of manifests sorts by creation: `20261128T104915Z-<16 hex>`. */
export function newExportId(createdAt: Date): string {
  const stamp = createdAt
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
  return `${stamp}-${randomBytes(8).toString("hex")}`;
}

/** `customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/`: the Athena partitions of a key. */
export function partitionPath(target: SessionTarget, createdAt: Date): string {
  const values = [target.customerId, subAccountLabel(target), createdAt.toISOString().slice(0, 10)];
  return PARTITIONS.map(({ segment }, i) => `${segment}=${values[i]}/`).join("");
}

/** `exports/customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/<exportId>.csv` */
export function exportKey(target: SessionTarget, exportId: string, createdAt: Date): string {
  return `${S3_PREFIX.exports}${partitionPath(target, createdAt)}${exportId}.csv`;
}

/** `sessions/customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/<exportId>.parquet` */
export function sessionsKey(target: SessionTarget, exportId: string, createdAt: Date): string {
  return `${S3_PREFIX.sessions}${partitionPath(target, createdAt)}${exportId}.parquet`;
}

/** `closing/customerId=…/subAccountId=…/date=…/<exportId>-within-<minutes>m.csv` */
export function closingKey(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  withinMinutes: number,
): string {
  return `${S3_PREFIX.closing}${partitionPath(target, createdAt)}${exportId}-within-${withinMinutes}m.csv`;
}

export function manifestKey(exportId: string): string {
  return `${S3_PREFIX.manifests}${exportId}.json`;
}
