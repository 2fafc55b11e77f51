import { S3Client } from "@aws-sdk/client-s3";
import { type Clock, Deadline, systemClock } from "../clock.js";
import type { ExportConfig } from "../config.js";
import type { SessionTarget } from "../ids.js";
import { type CredentialCache, createCredentialCache } from "../wavy/credentials.js";
import type { BackoffPolicy } from "../wavy/retry.js";
import { openSessionCsv } from "../wavy/session-csv.js";
import type { ExportDocument } from "./export-document.js";
import { createExport, readExport } from "./exports.js";
import { idempotentExport } from "./idempotency.js";

/** What the API routes ask of the export domain; the handler builds one, lazily. */
export interface ExportService {
  createExport(target: SessionTarget, options?: CreateExportOptions): Promise<ExportDocument>;
  readExport(exportId: string): Promise<ExportDocument>;
  /** An export as createExport makes it, plus the list of destinations closing soon. */
  closingSessions(target: SessionTarget, withinMinutes: number): Promise<ExportDocument>;
}

export interface CreateExportOptions {
  /** A retried POST /exports with the same key and body gets the same export back. */
  idempotencyKey?: string;
}

export interface ExportServiceDeps {
  s3?: S3Client;
  credentials?: CredentialCache;
  clock?: Clock;
  backoff?: BackoffPolicy;
}

/** Wires the export domain to its collaborators; the handler keeps one for its lifetime. */
export function buildExportService(
  config: ExportConfig,
  deps: ExportServiceDeps = {},
): ExportService {
  const s3 = deps.s3 ?? new S3Client({ forcePathStyle: config.s3ForcePathStyle });
  const credentials = deps.credentials ?? createCredentialCache(config.credentials);
  const store = {
    s3,
    bucket: config.bucket,
    downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
    clock: deps.clock ?? systemClock,
  };
  const exportDeps = (deadline: Deadline) => ({
    ...store,
    deadline,
    timeZone: config.timeZone,
    openCsv: (csvTarget: SessionTarget, csvDeadline: Deadline) =>
      openSessionCsv(csvTarget, {
        config,
        credentials,
        deadline: csvDeadline,
        backoff: deps.backoff,
      }),
  });
  return {
    createExport: (target, options = {}) => {
      const deadline = new Deadline(config.requestBudgetMs);
      const run = (exportId?: string) =>
        createExport(target, {
          ...exportDeps(deadline),
          ...(exportId !== undefined && { newExportId: () => exportId }),
        });
      return options.idempotencyKey === undefined
        ? run()
        : idempotentExport(options.idempotencyKey, target, { ...store, deadline }, run);
    },
    closingSessions: (target, withinMinutes) =>
      createExport(target, {
        ...exportDeps(new Deadline(config.requestBudgetMs)),
        closingWithinMinutes: withinMinutes,
      }),
    readExport: (exportId) => readExport(exportId, store),
  };
}
