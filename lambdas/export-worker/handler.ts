import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import { loadExportConfig, once } from "../lib/config.js";
import { EXPORT_ID_PATTERN } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import type { ExportManifest } from "../lib/exports/export-document.js";
import { buildExportService, type ExportService } from "../lib/exports/export-service.js";
import { logger } from "../lib/logger.js";

// Kept for the life of the execution environment, as the API's: config, S3 connections, secret.
const exportService = once(() => buildExportService(loadExportConfig()));

const WorkerEventSchema = z.object({
  exportId: z.string().check(z.regex(EXPORT_ID_PATTERN)),
});

/**
 * The asynchronous export's worker (docs/contract.md, "Asynchronous exports"): the export
 * function invokes it with `{"exportId"}` once the running manifest is stored. Every way the copy
 * can fail is recorded in the manifest by runAcceptedExport; what still throws here (an invalid
 * event, S3 refusing the manifest) fails the invocation, which Lambda does not retry and sends to
 * the on-failure destination.
 */
export function handleWorkerEvent(exports: () => ExportService) {
  return async (event: unknown, context: Context): Promise<ExportManifest | undefined> => {
    const parsed = WorkerEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidRequestError("The worker's event must be {exportId}");
    return exports().runAcceptedExport(parsed.data.exportId, context.getRemainingTimeInMillis());
  };
}

export const handler = middy<unknown, ExportManifest | undefined>()
  .use(injectLambdaContext(logger))
  .handler(handleWorkerEvent(exportService));
