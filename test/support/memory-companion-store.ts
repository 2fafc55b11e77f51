import { Readable } from "node:stream";
import type { CompanionStore } from "../../lambdas/lib/companions/companion-store.js";
import type { ExportManifest } from "../../lambdas/lib/exports/export-document.js";

/** The companion store in memory: objects appear only when finished, as in S3. */
export class MemoryCompanionStore implements CompanionStore {
  readonly manifests = new Map<string, ExportManifest>();
  readonly objects = new Map<string, Buffer>();
  /** Keys written (finished) so far, in order, to tell a no-op from a rewrite. */
  readonly writes: string[] = [];

  async readManifest(exportId: string) {
    return this.manifests.get(exportId);
  }

  async exists(key: string) {
    return this.objects.has(key);
  }

  async open(key: string) {
    const bytes = this.objects.get(key);
    // Small chunks, so row groups and the scanner's chunk boundaries are exercised.
    if (!bytes) return undefined;
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
    return Readable.from(chunks);
  }

  create(key: string) {
    const parts: Buffer[] = [];
    return {
      write: async (bytes: Buffer) => {
        parts.push(Buffer.from(bytes));
      },
      finish: async () => {
        this.objects.set(key, Buffer.concat(parts));
        this.writes.push(key);
      },
      discard: async () => {
        this.objects.delete(key);
      },
    };
  }

  async remove(key: string) {
    this.objects.delete(key);
  }
}
