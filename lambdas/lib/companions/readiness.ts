import { COMPANION } from "../contract.js";
import type { CompanionDocument, SucceededManifest } from "../exports/export-document.js";
import { companionKey } from "./companion-key.js";

/** A just-stored export's: its Export Succeeded event has not even been put yet. */
export function pendingCompanion(manifest: SucceededManifest): CompanionDocument {
  return { status: COMPANION.status.pending, key: companionKey(manifest) };
}

/**
 * A stored export's, read from the object itself: S3 shows an object only once it is complete,
 * so its existence is the marker (no marker object, no manifest rewrite). Missing past the build
 * window (completedAt, or createdAt for manifests without one, + COMPANION.buildWindowMinutes),
 * its event has run out of retries into the dead-letter queue: `failed` until a backfill builds it.
 */
export async function companionOf(
  manifest: SucceededManifest,
  exists: (key: string) => Promise<boolean>,
  now: Date,
): Promise<CompanionDocument> {
  const key = companionKey(manifest);
  if (await exists(key)) return { status: COMPANION.status.ready, key };
  const endedMs = Date.parse(manifest.completedAt ?? manifest.createdAt);
  const late = now.getTime() - endedMs > COMPANION.buildWindowMinutes * 60_000;
  return { status: late ? COMPANION.status.failed : COMPANION.status.pending, key };
}
