/**
 * `npm start`: the export API on http://127.0.0.1:3000 with an embedded Wavy sandbox and a
 * local S3-protocol server (data under .local/), all on loopback. The very same Lambda handler
 * serves the requests. With WAVY_USER_NAME and WAVY_AUTH_TOKEN set, it talks to the real Wavy.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { startApiServer } from "../dev/api-gateway.js";
// ---- Window intelligence (issue 21) ----
import { startClosingNoticeSweeper, windowEventLine } from "../dev/closing-notice-sweeper.js";
import { allowConsoleReads, withConsole } from "../dev/console-assets.js";
import { type DeliveredEvent, LocalEventBridge } from "../dev/eventbridge.js";
import { lambdaContext } from "../dev/lambda-context.js";
import { LocalLambda } from "../dev/lambda-service.js";
import { LocalDynamoDb } from "../dev/local-dynamodb.js";
import { localEnvironment } from "../dev/local-environment.js";
import { LocalQueue } from "../dev/local-queue.js";
import { LocalS3 } from "../dev/local-s3.js";
import { requestLogLine } from "../dev/request-log.js";
import {
  SANDBOX_ORIGIN,
  SANDBOX_TARGETS,
  startMoFeed,
  startStatusFeed,
  startWavySandbox,
} from "../dev/wavy-sandbox.js";
import { WINDOW_EVENT } from "../lambdas/lib/contract.js";
import { maskNumber } from "../lambdas/lib/windows/mask.js";
import { explainListenFailure, LocalSettingsError, localSettings } from "./settings.js";

const WORKER_FUNCTION = "export-worker";
/** The live windows' table (issue 20), in the in-process dynalite. */
const WINDOWS_TABLE_NAME = "wavy-sessions-windows";

async function main(): Promise<void> {
  const settings = localSettings();
  await mkdir(settings.dataDir, { recursive: true });
  const s3 = await new LocalS3({
    buckets: [settings.bucket],
    directory: settings.dataDir,
    port: settings.s3Port,
  })
    .start()
    .catch((error: unknown) => {
      throw explainListenFailure(error, "LOCAL_S3_PORT", settings.s3Port);
    });

  // Completion events are printed, one line each; asynchronous exports run here, in the background.
  const eventBridge = await new LocalEventBridge().start();
  eventBridge.onEvent((event) => console.log(eventLine(event)));
  const lambda = await new LocalLambda().start();

  // Live windows (issue 20): DynamoDB in process, the webhook queue in process.
  const dynamo = await new LocalDynamoDb().start();
  await dynamo.createWindowsTable(WINDOWS_TABLE_NAME);
  const webhookToken = settings.webhookToken ?? randomBytes(18).toString("base64url");
  const webhookQueue = new LocalQueue();

  const realWavy = Boolean(process.env.WAVY_USER_NAME && process.env.WAVY_AUTH_TOKEN);
  const sandbox = realWavy ? undefined : await startWavySandbox();

  // The handlers read their configuration from the environment, as in Lambda.
  Object.assign(process.env, {
    ...localEnvironment({
      s3Endpoint: s3.endpoint,
      bucket: settings.bucket,
      sandboxUrl: sandbox?.baseUrl,
    }),
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    EVENT_BUS_NAME: "default",
    EXPORT_WORKER_FUNCTION_NAME: WORKER_FUNCTION,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    WINDOWS_TABLE_NAME,
    REJECTED_BUCKET: settings.bucket,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
    // The counter's figures are printed as readable lines below instead of raw EMF JSON.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
  });
  delete process.env.WAVY_SECRET_ID;

  // Imported only now, so Powertools and the SDK see the environment set above.
  const { handler } = await import("../lambdas/export-sessions/handler.js");
  const worker = await import("../lambdas/export-worker/handler.js");
  lambda.register(WORKER_FUNCTION, (event) =>
    worker.handler(event, lambdaContext(WORKER_FUNCTION, 900_000)),
  );
  const windowEvents = await import("../lambdas/window-events/handler.js");
  const windowsApi = await import("../lambdas/windows-api/handler.js");
  webhookQueue.consume((event) => windowEvents.handler(event, lambdaContext("window-events")));
  // The companion function (docs/contract.md, "Companions"), started by the bus stand-in as the
  // stack's rule starts it: in the background, after the export has answered.
  const companion = await import("../lambdas/build-companion/handler.js");
  eventBridge.onEvent((event) => {
    if (event.source !== "wavy-sessions" || event["detail-type"] !== "Export Succeeded") return;
    setImmediate(() => {
      companion
        .handler(event, lambdaContext("build-companion", 900_000))
        .then((outcome) => console.log(companionLine(outcome)))
        .catch((error: unknown) =>
          console.log(
            `[companion] not built: ${(error as Error).message} (npm run backfill:companions)`,
          ),
        );
    });
  });
  const api = await startApiServer(
    // The console (docs/contract.md, "Local console") is served beside the handler, locally only.
    withConsole((event) => handler(event, lambdaContext("export-sessions")), {
      targets: sandbox ? SANDBOX_TARGETS : [],
      origins: sandbox ? [SANDBOX_ORIGIN] : [],
      s3Endpoint: s3.endpoint,
    }),
    settings.port,
    "127.0.0.1",
    {
      onResponse: (request) => console.log(requestLogLine({ ...request, at: new Date() })),
      webhooks: {
        token: webhookToken,
        enqueue: (body, attributes) => webhookQueue.send(body, attributes),
      },
      routes: [
        {
          pattern: /^\/windows(\/|$)/,
          handler: (event) => windowsApi.handler(event, lambdaContext("windows-api")),
        },
      ],
    },
  ).catch((error: unknown) => {
    throw explainListenFailure(error, "PORT", settings.port);
  });
  await allowConsoleReads(s3.endpoint, settings.bucket, api.url);

  const base = api.url.replace("127.0.0.1", "localhost");
  console.log(`
wavy-sessions is running locally
  API        ${api.url}
  Console    ${base}/ (open it in a browser)
  Wavy       ${sandbox ? `sandbox at ${sandbox.baseUrl} (customers 42, 42/7, 1001)` : "the real Wavy (WAVY_USER_NAME set)"}
  S3         ${s3.endpoint}, bucket ${settings.bucket}, data in ${settings.dataDir}

Try:
  curl -s -XPOST ${base}/exports -d '{"customerId":"42"}'
  curl -s -XPOST ${base}/exports -d '{"customerId":"42","subAccountId":"7"}'
  curl -s "${base}/v1/session?customerId=1001"
  curl -s "${base}/sessions/closing?customerId=42&withinMinutes=60"
  curl -s ${base}/exports/<exportId>
  curl -s "<downloadUrl from an answer>"

In the background (202, then poll the Location):
  curl -si -XPOST ${base}/exports -H 'Prefer: respond-async' -d '{"customerId":"1001"}'
  curl -s "${base}/exports?customerId=42&limit=5"

Each completion event is printed as an [event] line, and each companion built from an
Export Succeeded (in the background, docs/contract.md "Companions") as a [companion] line.

Live windows (Wavy's webhooks in, one contact's window out):
  Webhook    ${api.url}/hooks/wavy/${webhookToken}/mo  (and /status; token from WEBHOOK_TOKEN, or generated)
  DynamoDB   ${dynamo.endpoint}, table ${WINDOWS_TABLE_NAME}
  curl -s -XPOST ${base}/hooks/wavy/${webhookToken}/mo -d '{"total":1,"data":[{"id":"m1","source":"5511987654321","origin":"${SANDBOX_ORIGIN}","receivedAt":'$(date +%s000)'}]}'
  curl -s ${base}/windows/5511987654321
  curl -s "${base}/windows?origin=${SANDBOX_ORIGIN}&closingWithinMinutes=1440&limit=5"
${sandbox ? `The sandbox posts an MO bulk to the webhook every ${settings.moIntervalSeconds} s.` : ""}

${sandbox ? `The session counter runs for the sandbox's customers every ${settings.countIntervalSeconds} s.` : ""}
Ctrl-C stops everything.
`);
  const counter = await startCounterLoop(
    sandbox ? SANDBOX_TARGETS : [],
    settings.countIntervalSeconds,
  );
  const moFeed = sandbox
    ? startMoFeed(`${api.url}/hooks/wavy/${webhookToken}/mo`, {
        intervalMs: settings.moIntervalSeconds * 1000,
      })
    : undefined;

  // ---- Window intelligence (issue 21): status callbacks and closing notices ----
  const intelligence = startIntelligence({
    sandbox: Boolean(sandbox),
    statusWebhookUrl: `${api.url}/hooks/wavy/${webhookToken}/status`,
    dynamoEndpoint: dynamo.endpoint,
    eventBridgeEndpoint: eventBridge.endpoint,
    statusIntervalSeconds: settings.statusIntervalSeconds,
    closingNoticeIntervalSeconds: settings.closingNoticeIntervalSeconds,
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping...");
    counter.stop();
    moFeed?.stop();
    await intelligence.stop();
    await api.close();
    webhookQueue.stop();
    await dynamo.stop();
    await lambda.stop();
    await eventBridge.stop();
    await sandbox?.stop();
    await s3.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** One readable line per companion the companion function handled. */
function companionLine(outcome: { kind: string; key?: string; rows?: number; reason?: string }) {
  if (outcome.kind === "built") return `[companion] ${outcome.key}: ${outcome.rows} rows`;
  if (outcome.kind === "exists") return `[companion] ${outcome.key}: already built`;
  return `[companion] none: ${outcome.reason}`;
}

/** One readable line per completion event, as a rule's target would receive it. */
function eventLine(event: DeliveredEvent): string {
  // Issue 21's window events carry no exportId: their own line, the destination masked.
  if (isWindowEvent(event)) {
    return windowEventLine(
      { detailType: event["detail-type"], detail: event.detail as Record<string, unknown> },
      new Date(event.time),
    );
  }
  const detail = event.detail as {
    exportId: string;
    status: string;
    rows?: number;
    bytes?: number;
    error?: { code: string };
  };
  const outcome =
    detail.status === "succeeded"
      ? `${detail.rows} rows, ${detail.bytes} bytes`
      : `${detail.error?.code ?? "failed"}`;
  return `[event ${event.time.slice(11, 19)}Z] ${event.source} "${event["detail-type"]}" ${detail.exportId}: ${outcome}`;
}

/**
 * The scheduled counter, as EventBridge Scheduler would run it: the same handler, one event per
 * target, on an interval; each result printed as one readable line.
 */
async function startCounterLoop(
  targets: readonly { customerId: string; subAccountId: string | null }[],
  intervalSeconds: number,
): Promise<{ stop: () => void }> {
  if (targets.length === 0) return { stop: () => {} };
  const { handler } = await import("../lambdas/count-sessions/handler.js");
  const countAll = async () => {
    for (const { customerId, subAccountId } of targets) {
      const event = {
        customerId,
        ...(subAccountId && { subAccountId }),
        // The sandbox's MOs all reach one business number, mapped to the whole customer 42.
        ...(customerId === "42" && !subAccountId && { origins: [SANDBOX_ORIGIN] }),
      };
      try {
        const result = await handler(event, lambdaContext("count-sessions"));
        const at = `[count ${result.measuredAt.slice(11, 19)}Z] customer ${customerId} / ${subAccountId ?? "all"}`;
        if ("notConfigured" in result) {
          console.log(`${at}: not configured (the Wavy secret holds the placeholder)`);
          continue;
        }
        if (result.reconciliation)
          console.log(`${at}: ${reconciliationLine(result.reconciliation)}`);
        console.log(
          `${at}: ` +
            `${result.openSessions} open, ${result.expiringWithin1h} closing within 1 h, ` +
            `${result.expiringWithin4h} within 4 h` +
            (result.openWindows
              ? `, ${Object.values(result.openWindows).reduce((a, b) => a + b, 0)} open windows (live)`
              : "") +
            (result.unparseableTimestamps
              ? `, ${result.unparseableTimestamps} unreadable timestamps`
              : ""),
        );
      } catch (error) {
        console.log(
          `[count] customer ${customerId} / ${subAccountId ?? "all"}: failed (${(error as Error).message})`,
        );
      }
    }
  };
  await countAll();
  const timer = setInterval(countAll, intervalSeconds * 1000);
  return { stop: () => clearInterval(timer) };
}

// ---- Window intelligence (issue 21; docs/contract.md, "Window intelligence") ----

const WINDOW_DETAIL_TYPES: readonly string[] = Object.values(WINDOW_EVENT);

function isWindowEvent(event: DeliveredEvent): boolean {
  return WINDOW_DETAIL_TYPES.includes(event["detail-type"]);
}

/** The counter's reconciliation as one line: the drift per origin (masked) and the CSV's zone. */
function reconciliationLine(reconciliation: {
  drift: readonly { origin: string; onlyInSnapshot: number; onlyLive: number; written: number }[];
  zone: { decided: boolean; offsetMinutes: number | null; mismatch: boolean | null };
}): string {
  const drift = reconciliation.drift
    .map(
      (origin) =>
        `origin ${maskNumber(origin.origin)}: ${origin.onlyInSnapshot} only in the CSV (${origin.written} added as snapshot), ${origin.onlyLive} only live`,
    )
    .join("; ");
  const { zone } = reconciliation;
  const measured = zone.decided
    ? `CSV zone UTC${zone.offsetMinutes !== null && zone.offsetMinutes < 0 ? "-" : "+"}${Math.abs(zone.offsetMinutes ?? 0) / 60} h${zone.mismatch ? ", NOT WAVY_TIMEZONE" : ", as WAVY_TIMEZONE"}`
    : "CSV zone undecided (fewer than 3 destinations known to both sides)";
  return `reconciled: ${drift}; ${measured}`;
}

/**
 * The sandbox's status callbacks (some 210) on the status webhook, and the closing-notice sweeper
 * at 60 minutes for the sandbox's origin. Their events go to the EventBridge stand-in, which
 * prints them (eventLine).
 */
function startIntelligence(options: {
  sandbox: boolean;
  statusWebhookUrl: string;
  dynamoEndpoint: string;
  eventBridgeEndpoint: string;
  statusIntervalSeconds: number;
  closingNoticeIntervalSeconds: number;
}): { stop: () => Promise<void> } {
  const statusFeed = options.sandbox
    ? startStatusFeed(options.statusWebhookUrl, {
        intervalMs: options.statusIntervalSeconds * 1000,
      })
    : undefined;
  const sweeper = startClosingNoticeSweeper({
    tableName: WINDOWS_TABLE_NAME,
    endpoint: options.dynamoEndpoint,
    intervalMs: options.closingNoticeIntervalSeconds * 1000,
    origins: [SANDBOX_ORIGIN],
    closingNoticeMinutes: 60,
    eventBridgeEndpoint: options.eventBridgeEndpoint,
    eventBusName: "default",
    // The stand-in prints each event once; the sweeper prints nothing of its own.
    onEvent: () => {},
  });
  console.log(
    `Window intelligence: ${options.sandbox ? `status callbacks every ${options.statusIntervalSeconds} s (some 210), ` : ""}closing notices 60 min ahead for ${maskNumber(SANDBOX_ORIGIN)}, swept every ${options.closingNoticeIntervalSeconds} s.`,
  );
  return {
    stop: async () => {
      statusFeed?.stop();
      await sweeper.stop();
    },
  };
}

main().catch((error: unknown) => {
  // A setting the user can fix gets one line; anything else is a bug, with its stack.
  console.error(error instanceof LocalSettingsError ? error.message : error);
  process.exit(1);
});
