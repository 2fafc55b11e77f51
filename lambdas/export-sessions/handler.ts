import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { loadExportConfig, once } from "../lib/config.js";
import { buildExportService, type ExportService } from "../lib/exports-aws/export-service.js";
import { logger } from "../lib/logger.js";
import { overriddenNodeOptions } from "../lib/node-flags.js";
import { errorResponse } from "./http.js";
import { routeRequest } from "./routes.js";

// Built on first use, after the request is validated, and kept for the life of the execution
// environment: config parsed once, S3 connections and the cached secret reused.
const exportService = once(() => buildExportService(loadExportConfig()));

// Once per cold start, and only when it happens: the runtime undid the function's NODE_OPTIONS.
const overridden = overriddenNodeOptions(process.env.NODE_OPTIONS ?? "", process.execArgv);
if (overridden.length > 0) {
  logger.warn("the runtime's command line overrides NODE_OPTIONS", { overridden });
}

export function handleApiRequest(exports: () => ExportService) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await routeRequest(event, exports);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  // API Gateway's request id ties our log lines to its access log (no JMESPath engine needed).
  .before((request) => logger.setCorrelationId(request.event.requestContext?.requestId))
  .handler(handleApiRequest(exportService));
