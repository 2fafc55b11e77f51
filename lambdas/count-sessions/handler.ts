import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { Deadline, systemClock } from "../lib/clock.js";
import { loadWavyConfig, once, type WavyConfig } from "../lib/config.js";
import { METRICS_NAMESPACE } from "../lib/contract.js";
import { InvalidRequestError } from "../lib/errors.js";
import { describeIssues, SessionTargetSchema } from "../lib/ids.js";
import { logger } from "../lib/logger.js";
import {
  countOpenSessions,
  type NotConfiguredResult,
  type SessionCountResult,
} from "../lib/sessions/count.js";
import { type CredentialCache, createCredentialCache } from "../lib/wavy/credentials.js";
import { openSessionCsv } from "../lib/wavy/session-csv.js";

/** Time kept back from the Lambda timeout to log, flush metrics and fail cleanly. */
const SAFETY_MARGIN_MS = 3_000;

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});

/** What a count needs besides its event: built once, on first use. */
export interface CounterWiring {
  config: WavyConfig;
  credentials: CredentialCache;
}

// Module scope: config parsed once and the secret cached across invocations of a warm function.
const wiring = once((): CounterWiring => {
  const config = loadWavyConfig();
  return { config, credentials: createCredentialCache(config.credentials) };
});

/**
 * EventBridge Scheduler's input: `{"customerId": "42", "subAccountId": "7"}`. Tests pass their
 * own wiring (a Secrets Manager client of theirs), as they do for the export API.
 */
export function handleCount(wire: () => CounterWiring) {
  return async (
    event: unknown,
    context: Context,
  ): Promise<SessionCountResult | NotConfiguredResult> => {
    const parsed = SessionTargetSchema.safeParse(event);
    if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error));
    const { config, credentials } = wire();
    const deadline = new Deadline(
      Math.max(1, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS),
    );
    return countOpenSessions(parsed.data, {
      openCsv: (target) => openSessionCsv(target, { config, credentials, deadline }),
      clock: systemClock,
      timeZone: config.timeZone,
      metrics,
      logger,
    });
  };
}

export const countSessions = handleCount(wiring);

export const handler = middy(countSessions)
  .use(injectLambdaContext(logger))
  // Flushed after success and failure alike; a failed read still reports WavyRequestFailed.
  .use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
