import type * as z from "zod/mini";
import type { Clock } from "../clock.js";
import { InternalError } from "../errors.js";
import { logger } from "../logger.js";
import type { ExportManifest } from "./export-document.js";

/**
 * What the export domain talks to (docs/contract.md, "The export lifecycle"). The rules
 * (lifecycle, idempotency, history, settling) live above these ports and are unit-tested against
 * in-memory ones (test/support/memory-export-store.ts); the AWS adapters are in
 * `lambdas/lib/exports-aws/`. The store is a few primitives, as under Powertools' idempotency
 * `BasePersistenceLayer`: objects read with their ETag, written and deleted on a condition.
 */
export interface ExportStore {
  readonly bucket: string;
  get(key: string, signal: AbortSignal): Promise<Versioned | undefined>;
  /** The new ETag, or undefined when the condition failed: another writer decided first. */
  put(
    key: string,
    text: string,
    condition: WriteCondition | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined>;
  /** false when `ifMatch` named a version no longer there; a missing key deletes fine, as in S3. */
  delete(key: string, ifMatch: string | undefined, signal: AbortSignal): Promise<boolean>;
  exists(key: string, signal: AbortSignal): Promise<boolean>;
  /** Keys under `prefix` after `startAfter`, ascending in UTF-8 order, as ListObjectsV2 lists. */
  list(
    prefix: string,
    options: { startAfter?: string; maxKeys: number },
    signal: AbortSignal,
  ): Promise<string[]>;
  /** Aborts every multipart upload still open on exactly this key (a dead run's). */
  abortUploads(key: string, signal: AbortSignal): Promise<void>;
  presign(key: string, expiresInSeconds: number, now: Date): Promise<string>;
}

export interface Versioned {
  text: string;
  etag: string;
}

/** `If-None-Match: *` (only if absent) or `If-Match: <etag>` (only if still that version). */
type WriteCondition = { ifNoneMatch: "*" } | { ifMatch: string };

export const IF_ABSENT: WriteCondition = { ifNoneMatch: "*" };

/** Announces how an export ended (docs/contract.md, "Events"), never outliving `signal`. */
export interface CompletionEvents {
  put(ended: ExportManifest, signal: AbortSignal): Promise<void>;
}

/** Starts the worker for an accepted export, under the request's deadline. */
export type WorkerLauncher = (exportId: string, signal: AbortSignal) => Promise<void>;

/** What every part of the export domain works with; built once per function by export-service. */
export interface ExportContext {
  store: ExportStore;
  clock: Clock;
  events: CompletionEvents;
  downloadUrlTtlSeconds: number;
}

/**
 * The JSON record at `key` as `schema` reads it, with the ETag a conditional write must name to
 * replace it; undefined when there is none. One the schema refuses is a 500 for the operator.
 */
export async function readRecord<T>(
  store: ExportStore,
  key: string,
  schema: z.ZodMiniType<T>,
  signal: AbortSignal,
): Promise<{ value: T; etag: string } | undefined> {
  const stored = await store.get(key, signal);
  if (!stored) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(stored.text);
  } catch {
    // Not JSON: the schema refuses undefined.
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success || stored.etag === "") {
    logger.error("A stored export record is unreadable", { key });
    throw new InternalError("Internal error");
  }
  return { value: parsed.data, etag: stored.etag };
}
