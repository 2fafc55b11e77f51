import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One Logger per process, as Powertools recommends. Metrics live with the counter
 * (count-sessions/handler.ts), the only function that emits any: the export bundle does not
 * carry them.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wavy-sessions",
});
