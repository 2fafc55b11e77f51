import { type ExportManifest, sessionsKey, targetOf } from "../exports/export-document.js";

/** Where an export's companion is, whether or not it is built yet (docs/contract.md, "S3 layout"). */
export function companionKey(manifest: ExportManifest): string {
  return sessionsKey(targetOf(manifest), manifest.exportId, new Date(manifest.createdAt));
}
