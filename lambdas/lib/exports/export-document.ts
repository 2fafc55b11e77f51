import { randomBytes } from "node:crypto";
import * as z from "zod/mini";
import { ID_PATTERN, S3_PREFIX } from "../contract.js";
import { type SessionTarget, subAccountLabel } from "../ids.js";

/** What POST /exports answers and GET /exports/{exportId} reads back (docs/contract.md, "The export document"). */
export interface ExportDocument {
  exportId: string;
  customerId: string;
  subAccountId: string | null;
  bucket: string;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  createdAt: string;
  downloadUrl: string;
  downloadUrlExpiresAt: string;
}

/** The manifest kept in S3: the document without the URL, which is minted fresh on read. */
export type ExportManifest = Omit<ExportDocument, "downloadUrl" | "downloadUrlExpiresAt">;

const count = z.number().check(z.refine(Number.isSafeInteger), z.nonnegative());

export const ExportManifestSchema = z.object({
  exportId: z.string(),
  customerId: z.string(),
  subAccountId: z.nullable(z.string()),
  bucket: z.string(),
  key: z.string(),
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

/** `exports/customerId=<id>/subAccountId=<id|all>/date=<YYYY-MM-DD>/<exportId>.csv` */
export function exportKey(target: SessionTarget, exportId: string, createdAt: Date): string {
  const date = createdAt.toISOString().slice(0, 10);
  return `${S3_PREFIX.exports}customerId=${target.customerId}/subAccountId=${subAccountLabel(target)}/date=${date}/${exportId}.csv`;
}

/**
 * The manifest trust rule (docs/contract.md, "S3 layout"): a manifest may name only the
 * configured bucket and its own export's key, the one exportKey() gives for its target, id and
 * date. Manifests are data anyone with write access to the bucket can rewrite; without this, a
 * manifest pointing at `idempotency/…` or another bucket would get a working presigned URL.
 */
export function namesOwnCsv(manifest: ExportManifest, bucket: string): boolean {
  if (manifest.bucket !== bucket) return false;
  const { customerId, subAccountId } = manifest;
  if (!ID_PATTERN.test(customerId)) return false;
  if (subAccountId !== null && !ID_PATTERN.test(subAccountId)) return false;
  const createdAt = new Date(manifest.createdAt);
  if (Number.isNaN(createdAt.getTime())) return false;
  return manifest.key === exportKey({ customerId, subAccountId }, manifest.exportId, createdAt);
}

export function manifestKey(exportId: string): string {
  return `${S3_PREFIX.manifests}${exportId}.json`;
}
