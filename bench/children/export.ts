import type { APIGatewayProxyEvent } from "aws-lambda";
import { handleApiRequest } from "../../lambdas/export-sessions/handler.js";
import { loadExportConfig } from "../../lambdas/lib/config.js";
import { buildExportService } from "../../lambdas/lib/exports-aws/export-service.js";
import { measure } from "./measure.js";

/**
 * One export as the Lambda runs it: the deployed handler's request path (routing, validation,
 * Wavy call, CSV → S3, manifest, presigned URL), configured from the environment. Bundled with
 * the house esbuild settings. Only the request budget is lifted (REQUEST_BUDGET_MS is capped
 * at 28 s) so a 1 GB file on this machine measures memory rather than the timeout.
 */
const config = loadExportConfig();
config.requestBudgetMs = Number(process.env.BENCH_BUDGET_MS ?? 600_000);
const api = buildExportService(config);
const handle = handleApiRequest(() => api);

const event = {
  httpMethod: "POST",
  path: "/exports",
  resource: "/exports",
  headers: { "content-type": "application/json" },
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: null,
  stageVariables: null,
  isBase64Encoded: false,
  body: JSON.stringify({ customerId: process.env.BENCH_CUSTOMER_ID ?? "42" }),
  requestContext: { requestId: "bench" },
} as unknown as APIGatewayProxyEvent;

await measure(async () => {
  const response = await handle(event);
  if (response.statusCode !== 201) {
    throw new Error(`export answered ${response.statusCode}: ${response.body}`);
  }
  const document = JSON.parse(response.body) as Record<string, unknown>;
  return {
    key: document.key,
    exportId: document.exportId,
    rows: document.rows,
    bytes: document.bytes,
    sha256: document.sha256,
  };
});
