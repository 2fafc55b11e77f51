/**
 * `npm start`: the export API on http://127.0.0.1:3000 with an embedded Wavy sandbox and a
 * local S3-protocol server (data under .local/), all on loopback. The very same Lambda handler
 * serves the requests. With WAVY_USER_NAME and WAVY_AUTH_TOKEN set, it talks to the real Wavy.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { startApiServer } from "../dev/api-gateway.js";
import { lambdaContext } from "../dev/lambda-context.js";
import { localEnvironment } from "../dev/local-environment.js";
import { LocalS3 } from "../dev/local-s3.js";
import { SANDBOX_TARGETS, startWavySandbox } from "../dev/wavy-sandbox.js";

const PORT = Number(process.env.PORT ?? 3000);
const S3_PORT = Number(process.env.LOCAL_S3_PORT ?? 4569);
const BUCKET = process.env.EXPORT_BUCKET ?? "wavy-sessions-local";
const DATA_DIR = resolve(process.env.LOCAL_DATA_DIR ?? ".local/s3");
const COUNT_INTERVAL_SECONDS = Number(process.env.COUNT_INTERVAL_SECONDS ?? 60);

async function main(): Promise<void> {
  await mkdir(DATA_DIR, { recursive: true });
  const s3 = await new LocalS3({ buckets: [BUCKET], directory: DATA_DIR, port: S3_PORT }).start();

  const realWavy = Boolean(process.env.WAVY_USER_NAME && process.env.WAVY_AUTH_TOKEN);
  const sandbox = realWavy ? undefined : await startWavySandbox();

  // The handlers read their configuration from the environment, as in Lambda.
  Object.assign(process.env, {
    ...localEnvironment({ s3Endpoint: s3.endpoint, bucket: BUCKET, sandboxUrl: sandbox?.baseUrl }),
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
    // The counter's figures are printed as readable lines below instead of raw EMF JSON.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
  });
  delete process.env.WAVY_SECRET_ID;

  // Imported only now, so Powertools and the SDK see the environment set above.
  const { handler } = await import("../lambdas/export-sessions/handler.js");
  const api = await startApiServer(
    (event) => handler(event, lambdaContext("export-sessions")),
    PORT,
  );

  const base = api.url.replace("127.0.0.1", "localhost");
  console.log(`
wavy-sessions is running locally
  API        ${api.url}
  Wavy       ${sandbox ? `sandbox at ${sandbox.baseUrl} (customers 42, 42/7, 1001)` : "the real Wavy (WAVY_USER_NAME set)"}
  S3         ${s3.endpoint}, bucket ${BUCKET}, data in ${DATA_DIR}

Try:
  curl -s -XPOST ${base}/exports -d '{"customerId":"42"}'
  curl -s -XPOST ${base}/exports -d '{"customerId":"42","subAccountId":"7"}'
  curl -s "${base}/v1/session?customerId=1001"
  curl -s "${base}/sessions/closing?customerId=42&withinMinutes=60"
  curl -s ${base}/exports/<exportId>
  curl -s "<downloadUrl from an answer>"

${sandbox ? `The session counter runs for the sandbox's customers every ${COUNT_INTERVAL_SECONDS} s.` : ""}
Ctrl-C stops everything.
`);
  const counter = await startCounterLoop(sandbox ? SANDBOX_TARGETS : []);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping...");
    counter.stop();
    await api.close();
    await sandbox?.stop();
    await s3.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * The scheduled counter, as EventBridge Scheduler would run it: the same handler, one event per
 * target, on an interval; each result printed as one readable line.
 */
async function startCounterLoop(
  targets: readonly { customerId: string; subAccountId: string | null }[],
): Promise<{ stop: () => void }> {
  if (targets.length === 0) return { stop: () => {} };
  const { handler } = await import("../lambdas/count-sessions/handler.js");
  const countAll = async () => {
    for (const { customerId, subAccountId } of targets) {
      const event = subAccountId ? { customerId, subAccountId } : { customerId };
      try {
        const result = await handler(event, lambdaContext("count-sessions"));
        const at = `[count ${result.measuredAt.slice(11, 19)}Z] customer ${customerId} / ${subAccountId ?? "all"}`;
        if ("notConfigured" in result) {
          console.log(`${at}: not configured (the Wavy secret holds the placeholder)`);
          continue;
        }
        console.log(
          `${at}: ` +
            `${result.openSessions} open, ${result.expiringWithin1h} closing within 1 h, ` +
            `${result.expiringWithin4h} within 4 h` +
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
  const timer = setInterval(countAll, COUNT_INTERVAL_SECONDS * 1000);
  return { stop: () => clearInterval(timer) };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
