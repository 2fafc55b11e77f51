import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { Deadline, systemClock } from "../lib/clock.js";
import { loadWavyConfig, once } from "../lib/config.js";
import { METRICS_NAMESPACE } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import { describeIssues, SessionTargetSchema } from "../lib/ids.js";
import { logger } from "../lib/logger.js";
import {
  countOpenSessions,
  type NotConfiguredResult,
  type SessionCountResult,
} from "../lib/sessions/count.js";
import { createCredentialCache } from "../lib/wavy/credentials.js";
import { openSessionCsv } from "../lib/wavy/session-csv.js";

/** Time kept back from the Lambda timeout to log, flush metrics and fail cleanly. */
const SAFETY_MARGIN_MS = 3_000;

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});

const config = once(() => loadWavyConfig());
// Module scope: the secret is cached across invocations of a warm function.
const credentials = once(() => createCredentialCache(config().credentials));

/** EventBridge Scheduler's input: `{"customerId": "42", "subAccountId": "7"}`. */
export async function countSessions(
  event: unknown,
  context: Context,
): Promise<SessionCountResult | NotConfiguredResult> {
  const parsed = SessionTargetSchema.safeParse(event);
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
  const wavy = config();
  const cache = credentials();
  const deadline = new Deadline(Math.max(1, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS));
  return countOpenSessions(parsed.data, {
    openCsv: (target) => openSessionCsv(target, { config: wavy, credentials: cache, deadline }),
    clock: systemClock,
    timeZone: wavy.timeZone,
    metrics,
    logger,
  });
}

export const handler = middy(countSessions)
  .use(injectLambdaContext(logger))
  // Flushed after success and failure alike; a failed read still reports WavyRequestFailed.
  .use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
