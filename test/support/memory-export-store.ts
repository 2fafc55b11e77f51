import type { Clock } from "../../lambdas/lib/clock.js";
import type { ExportManifest } from "../../lambdas/lib/exports/export-document.js";
import type { ExportContext, ExportStore, Versioned } from "../../lambdas/lib/exports/ports.js";

/**
 * The export store in memory: the port's second implementation, so the domain's rules are unit
 * tests (test/unit/lib/exports/) rather than runs through an S3 emulator. Conditions behave as
 * S3's: If-None-Match on an existing key and If-Match on another version fail (undefined/false).
 */
export class MemoryExportStore implements ExportStore {
  readonly bucket = "memory-bucket";
  readonly objects = new Map<string, Versioned>();
  readonly aborted: string[] = [];
  private version = 0;

  keys(prefix = ""): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async get(key: string): Promise<Versioned | undefined> {
    return this.objects.get(key);
  }

  async put(
    key: string,
    text: string,
    condition: { ifNoneMatch: "*" } | { ifMatch: string } | undefined,
  ): Promise<string | undefined> {
    const current = this.objects.get(key);
    if (condition && "ifNoneMatch" in condition && current) return undefined;
    if (condition && "ifMatch" in condition && current?.etag !== condition.ifMatch) {
      return undefined;
    }
    const etag = `"v${++this.version}"`;
    this.objects.set(key, { text, etag });
    return etag;
  }

  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }

  async delete(key: string, ifMatch: string | undefined): Promise<boolean> {
    if (ifMatch !== undefined && this.objects.get(key)?.etag !== ifMatch) return false;
    this.objects.delete(key);
    return true;
  }

  async list(prefix: string, options: { startAfter?: string; maxKeys: number }) {
    return this.keys(prefix)
      .filter((key) => options.startAfter === undefined || key > options.startAfter)
      .slice(0, options.maxKeys);
  }

  async abortUploads(key: string): Promise<void> {
    this.aborted.push(key);
  }

  async presign(key: string, expiresIn: number): Promise<string> {
    return `memory://${key}?expires=${expiresIn}`;
  }
}

/** A context on a memory store, a settable clock and a list of the events put. */
export function memoryContext(start = new Date("2026-12-06T12:00:00.000Z")) {
  let now = start.getTime();
  const store = new MemoryExportStore();
  const events: ExportManifest[] = [];
  const clock: Clock = () => new Date(now);
  const ctx: ExportContext = {
    store,
    clock,
    events: { put: async (ended) => void events.push(ended as ExportManifest) },
    downloadUrlTtlSeconds: 900,
  };
  const advance = (ms: number) => {
    now += ms;
  };
  return { ctx, store, events, advance };
}
