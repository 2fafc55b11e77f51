import {
  type ExportManifest,
  layoutOf,
  sessionsKey,
  targetOf,
} from "../exports/export-document.js";
import { CURRENT_LAYOUT } from "../layout.js";

/**
 * Where an export's companion is, whether or not it is built yet (docs/contract.md, "S3 layout"):
 * under the manifest's own key layout, so an export accepted before a layout change keeps it.
 */
export function companionKey(manifest: ExportManifest): string {
  const layout = layoutOf(manifest) ?? CURRENT_LAYOUT;
  return sessionsKey(targetOf(manifest), manifest.exportId, new Date(manifest.createdAt), layout);
}
