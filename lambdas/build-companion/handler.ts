import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import * as z from "zod/mini";
import {
  type BuildCompanionDeps,
  buildCompanion,
  type CompanionOutcome,
} from "../lib/companions/build-companion.js";
import { s3CompanionStore } from "../lib/companions/s3-companion-store.js";
import { loadCompanionConfig, once } from "../lib/config.js";
import { EVENT, EXPORT_ID_PATTERN, EXPORT_STATUS } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import { logger } from "../lib/logger.js";

// Kept for the life of the execution environment: config and S3 connections.
const deps = once((): BuildCompanionDeps => {
  const config = loadCompanionConfig();
  return {
    store: s3CompanionStore(
      new S3Client({ forcePathStyle: config.s3ForcePathStyle }),
      config.bucket,
    ),
    timeZone: config.timeZone,
  };
});

/** The `Export Succeeded` event as an EventBridge rule delivers it (docs/contract.md, "Events"). */
const ExportSucceededEventSchema = z.object({
  source: z.literal(EVENT.source),
  "detail-type": z.literal(EVENT.succeeded),
  detail: z.object({
    exportId: z.string().check(z.regex(EXPORT_ID_PATTERN)),
    status: z.literal(EXPORT_STATUS.succeeded),
    key: z.string(),
    sha256: z.string(),
  }),
});

/**
 * The companion function (docs/contract.md, "Companions"): started by the `Export Succeeded`
 * event, builds that export's Parquet companion from its stored CSV. An event of another shape
 * fails the invocation (nothing written); a failure to build throws, so Lambda retries it and then
 * sends it to the companion's dead-letter queue.
 */
export function handleCompanionEvent(load: () => BuildCompanionDeps) {
  return async (event: unknown): Promise<CompanionOutcome> => {
    const parsed = ExportSucceededEventSchema.safeParse(event);
    if (!parsed.success) {
      throw new InvalidRequestError(
        `The companion function takes "${EVENT.succeeded}" events from "${EVENT.source}"`,
      );
    }
    const { exportId, key, sha256 } = parsed.data.detail;
    return buildCompanion({ exportId, key, sha256 }, load());
  };
}

export const handler = middy<unknown, CompanionOutcome>()
  .use(injectLambdaContext(logger))
  .handler(handleCompanionEvent(deps));
