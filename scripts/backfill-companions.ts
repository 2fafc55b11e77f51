/**
 * Builds the missing Parquet companions of existing exports (docs/contract.md, "Companions"):
 * every succeeded export whose companion is not stored, with the companion function's own domain
 * function, so a run is idempotent and can be repeated (existing companions are left alone).
 *
 *   npm run backfill:companions                       every export in EXPORT_BUCKET
 *   npm run backfill:companions -- --customer-id 42   one customer's
 *   npm run backfill:companions -- --dry-run          only say what would be built
 *
 * Environment: EXPORT_BUCKET (the ExportBucketName output), WAVY_TIMEZONE, and the standard AWS
 * SDK variables (credentials, AWS_REGION; AWS_ENDPOINT_URL_S3 with S3_FORCE_PATH_STYLE=true for a
 * local server). The caller needs what the companion function's role has.
 */

import { parseArgs } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  buildCompanion,
  type CompanionOutcome,
} from "../lambdas/lib/companions/build-companion.js";
import { companionKey } from "../lambdas/lib/companions/companion-key.js";
import type { CompanionStore } from "../lambdas/lib/companions/companion-store.js";
import { s3CompanionStore } from "../lambdas/lib/companions/s3-companion-store.js";
import { loadCompanionConfig } from "../lambdas/lib/config.js";
import { EXPORT_STATUS, S3_PREFIX } from "../lambdas/lib/contract.js";

export interface BackfillOptions {
  s3: S3Client;
  bucket: string;
  timeZone: string;
  customerId?: string;
  dryRun?: boolean;
  store?: CompanionStore;
}

export interface BackfillSummary {
  built: number;
  existing: number;
  skipped: number;
  /** Would be built (dry run only). */
  missing: string[];
  failed: { exportId: string; error: string }[];
}

/** Every export id with a manifest, in listing order. */
async function* exportIds(s3: S3Client, bucket: string): AsyncIterable<string> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: S3_PREFIX.manifests,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) {
      const id = object.Key?.slice(S3_PREFIX.manifests.length).replace(/\.json$/, "");
      if (id) yield id;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function backfillCompanions(options: BackfillOptions): Promise<BackfillSummary> {
  const store = options.store ?? s3CompanionStore(options.s3, options.bucket);
  const summary: BackfillSummary = { built: 0, existing: 0, skipped: 0, missing: [], failed: [] };
  for await (const exportId of exportIds(options.s3, options.bucket)) {
    const manifest = await store.readManifest(exportId);
    if (manifest?.status !== EXPORT_STATUS.succeeded) {
      summary.skipped++;
      continue;
    }
    if (options.customerId !== undefined && manifest.customerId !== options.customerId) continue;
    if (options.dryRun) {
      if (await store.exists(companionKey(manifest))) summary.existing++;
      else summary.missing.push(exportId);
      continue;
    }
    let outcome: CompanionOutcome;
    try {
      outcome = await buildCompanion({ exportId }, { store, timeZone: options.timeZone });
    } catch (error) {
      summary.failed.push({ exportId, error: (error as Error).message });
      continue;
    }
    if (outcome.kind === "built") summary.built++;
    else if (outcome.kind === "exists") summary.existing++;
    else summary.skipped++;
  }
  return summary;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { "customer-id": { type: "string" }, "dry-run": { type: "boolean" } },
  });
  const config = loadCompanionConfig();
  const s3 = new S3Client({ forcePathStyle: config.s3ForcePathStyle });
  const summary = await backfillCompanions({
    s3,
    bucket: config.bucket,
    timeZone: config.timeZone,
    customerId: values["customer-id"],
    dryRun: values["dry-run"],
  });
  console.log(JSON.stringify(summary, null, 2));
  s3.destroy();
  if (summary.failed.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await main();
}
