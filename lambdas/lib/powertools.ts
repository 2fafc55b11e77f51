import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

/** One Logger and one Metrics per process, as Powertools recommends. */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "WavySessions",
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});
