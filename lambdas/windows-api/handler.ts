import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
// The export API's one place errors become HTTP; it imports only the base layer (contract,
// errors, logger), so the lookups' bundle carries nothing of the export domain.
import { errorResponse } from "../export-sessions/http.js";
import { loadWindowsTableName, once } from "../lib/config.js";
import { logger } from "../lib/logger.js";
import { windowsTableClient } from "../lib/windows/clients.js";
import { DynamoDbWindowStore } from "../lib/windows/dynamodb-window-store.js";
import type { WindowStore } from "../lib/windows/window-store.js";
import { routeLookup } from "./routes.js";

// Built on first use, after the request is validated: a bad request never needs the table.
const store = once(
  (): WindowStore => new DynamoDbWindowStore(windowsTableClient(), loadWindowsTableName()),
);

export function handleLookup(windows: () => WindowStore, nowMs: () => number = Date.now) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await routeLookup(event, { store: windows, nowMs });
    } catch (error) {
      return errorResponse(error);
    }
  };
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .before((request) => logger.setCorrelationId(request.event.requestContext?.requestId))
  .handler(handleLookup(store));
