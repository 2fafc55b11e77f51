import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import { loadExportConfig, once } from "../lib/config.js";
import { EXPORT_ID_PATTERN } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import type { ExportManifest } from "../lib/exports/export-document.js";
import type { SweepResult } from "../lib/exports/lifecycle.js";
import { buildExportService, type ExportService } from "../lib/exports-aws/export-service.js";
import { logger } from "../lib/logger.js";

// Kept for the life of the execution environment, as the API's: config, S3 connections, secret.
const exportService = once(() => buildExportService(loadExportConfig()));

const WorkerEventSchema = z.union([
  z.strictObject({ exportId: z.string().check(z.regex(EXPORT_ID_PATTERN)) }),
  z.strictObject({ sweep: z.literal(true) }),
]);

/**
 * The asynchronous export's worker (docs/contract.md, "Asynchronous exports"): the export
 * function invokes it with `{"exportId"}` once the running manifest is stored. Every way the copy
 * can fail is recorded in the manifest by runAcceptedExport; what still throws here (an invalid
 * event, S3 refusing the manifest) fails the invocation, which Lambda does not retry and sends to
 * the on-failure destination.
 *
 * `{"sweep": true}`, every 5 minutes from EventBridge Scheduler (infra/constructs/export-sweeper.ts),
 * settles the running exports past their deadlineAt (docs/contract.md, "The export lifecycle").
 * The sweep is the worker's because what it takes back is what dead workers leave, and the
 * worker's role already holds what settling needs (manifests, its objects, the bus): a second
 * function would repeat the same configuration and grants.
 */
export function handleWorkerEvent(exports: () => ExportService) {
  return async (
    event: unknown,
    context: Context,
  ): Promise<ExportManifest | SweepResult | undefined> => {
    const parsed = WorkerEventSchema.safeParse(event);
    if (!parsed.success) {
      throw new InvalidRequestError('The worker\'s event must be {exportId} or {"sweep": true}');
    }
    if ("sweep" in parsed.data) {
      // Stops 5 s before the invocation's timeout, to log and return what it did: the next sweep
      // goes on from there.
      const result = await exports().sweep(context.getRemainingTimeInMillis() - 5_000);
      logger.info("Swept the running exports", { ...result });
      return result;
    }
    return exports().runAcceptedExport(parsed.data.exportId, context.getRemainingTimeInMillis());
  };
}

export const handler = middy<unknown, ExportManifest | SweepResult | undefined>()
  .use(injectLambdaContext(logger))
  .handler(handleWorkerEvent(exportService));
