import type { Readable } from "node:stream";
import type { ExportManifest } from "../exports/export-document.js";
import type { ObjectSink } from "../sessions/session-rows.js";

/**
 * What the companion's domain needs of the export bucket (docs/contract.md, "Companions"): the
 * S3 adapter is s3-companion-store.ts; tests may fill it with anything that keeps these promises.
 */
export interface CompanionStore {
  /** The export's stored manifest, undefined when there is none (or it does not parse). */
  readManifest(exportId: string): Promise<ExportManifest | undefined>;
  /** Whether a complete object is stored at `key` (S3 shows an object only once complete). */
  exists(key: string, signal?: AbortSignal): Promise<boolean>;
  /** The stored object's bytes, undefined when it is gone. */
  open(key: string): Promise<Readable | undefined>;
  /** An object written part by part, visible only once finished, taken back by discard(). */
  create(key: string, contentType: string): ObjectSink;
  remove(key: string): Promise<void>;
}
