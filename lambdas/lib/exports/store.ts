import type { Clock } from "../clock.js";
import type { CompletionEvents } from "./events.js";

/**
 * The export domain's storage port (docs/contract.md, "The export lifecycle"): objects named by
 * key, read with their ETag, written and deleted on a condition. The rules (lifecycle,
 * idempotency, history, settling) live above it and are unit-tested against an in-memory
 * implementation (test/support/memory-export-store.ts); `s3-store.ts` is the one adapter, as
 * Powertools' idempotency persistence layers implement a few primitives under one base.
 */
export interface ExportStore {
  readonly bucket: string;
  /** The object's text and ETag, or undefined when there is none. */
  get(key: string, signal: AbortSignal): Promise<Versioned | undefined>;
  /**
   * The new ETag, or undefined when the condition failed: another writer decided first. Without
   * a condition the write replaces whatever is there.
   */
  put(
    key: string,
    text: string,
    condition: WriteCondition | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined>;
  /**
   * false when `ifMatch` named a version that is no longer there. Deleting a missing key without
   * a condition succeeds, as S3's DeleteObject does.
   */
  delete(key: string, ifMatch: string | undefined, signal: AbortSignal): Promise<boolean>;
  /** Whether the object is there (HeadObject), without reading it. */
  exists(key: string, signal: AbortSignal): Promise<boolean>;
  /** Keys under `prefix`, ascending (UTF-8 order, as ListObjectsV2), after `startAfter`. */
  list(
    prefix: string,
    options: { startAfter?: string; maxKeys: number },
    signal: AbortSignal,
  ): Promise<string[]>;
  /** Aborts every multipart upload still open on exactly this key (a dead run's). */
  abortUploads(key: string, signal: AbortSignal): Promise<void>;
  /** A presigned GET of the key, valid `expiresInSeconds` from `now`. */
  presign(key: string, expiresInSeconds: number, now: Date): Promise<string>;
}

export interface Versioned {
  text: string;
  etag: string;
}

/** `If-None-Match: *` (only if absent) or `If-Match: <etag>` (only if still that version). */
export type WriteCondition = { ifNoneMatch: "*" } | { ifMatch: string };

export const IF_ABSENT: WriteCondition = { ifNoneMatch: "*" };

/** What every part of the export domain works with; built once per function by export-service. */
export interface ExportContext {
  store: ExportStore;
  clock: Clock;
  events: CompletionEvents;
  downloadUrlTtlSeconds: number;
}

/** The parsed JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
