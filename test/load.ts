/**
 * `npm run test:load`: the local stack under concurrent exports (docs/reliability.md).
 *
 * Starts what `npm start` starts (LocalS3 = s3rver behind its front, the seeded Wavy sandbox,
 * and the real Lambda handler behind the local API Gateway stand-in), all on loopback, then
 * fires LOAD_REQUESTS POST /exports over LOAD_CONNECTIONS concurrent connections with
 * autocannon. Afterwards every export is checked against S3: the object's bytes and sha256
 * against the answer and the manifest, the row count against the sandbox's seed, and no
 * multipart upload left open. Peak RSS is sampled throughout. Exits 1 on any discrepancy.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import autocannon from "autocannon";
import { startApiServer } from "../dev/api-gateway.js";
import { lambdaContext } from "../dev/lambda-context.js";
import { localEnvironment } from "../dev/local-environment.js";
import { LocalS3 } from "../dev/local-s3.js";
import { SANDBOX_TARGETS, startWavySandbox } from "../dev/wavy-sandbox.js";

const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 1000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 100);
/**
 * The whole stack in one process, 100 transfers at once; a leak or a whole-file buffer shows.
 * Measured 2026-12-06 (docs/reliability.md, "Load"): 422 MiB peak at 1000 requests on a loaded
 * 2-core machine; the limit is that and half again. It was 1,024 while the Parquet companion was
 * built in the request's pass, which peaked at 1,267-1,285 MiB and failed on a clean clone.
 */
const MAX_RSS_MIB = Number(process.env.LOAD_MAX_RSS_MIB ?? 640);
const BUCKET = "wavy-sessions-load";
/** A larger CSV beside the sandbox's, so some transfers are megabytes, not kilobytes. */
const BIG_CUSTOMER = "7777";
const BIG_ROWS = 60_000;

interface ExportAnswer {
  exportId: string;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  customerId: string;
  subAccountId: string | null;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "wavy-load-"));
  const s3 = await new LocalS3({ buckets: [BUCKET], directory: dataDir }).start();
  const sandbox = await startWavySandbox();
  const bigCsv = `source;session_created_at\n${"5511987654321;2026-11-28 09:15:42\n".repeat(BIG_ROWS)}`;
  sandbox.csvByTarget.set(BIG_CUSTOMER, bigCsv);

  Object.assign(process.env, {
    ...localEnvironment({ s3Endpoint: s3.endpoint, bucket: BUCKET, sandboxUrl: sandbox.baseUrl }),
    POWERTOOLS_LOG_LEVEL: "ERROR",
  });
  delete process.env.WAVY_SECRET_ID;
  // Imported only now, so Powertools and the SDK see the environment above (as local/start.ts).
  const { handler } = await import("../lambdas/export-sessions/handler.js");
  const api = await startApiServer((event) => handler(event, lambdaContext("export-sessions")));

  const expectedRows = new Map<string, number>(
    SANDBOX_TARGETS.map((t) => [`${t.customerId}/${t.subAccountId ?? ""}`, t.sessions]),
  );
  expectedRows.set(`${BIG_CUSTOMER}/`, BIG_ROWS);
  const bodies = [...expectedRows.keys()].map((key) => {
    const [customerId, subAccountId] = key.split("/");
    return JSON.stringify(subAccountId ? { customerId, subAccountId } : { customerId });
  });

  const answers: ExportAnswer[] = [];
  const failures: string[] = [];
  let peakRss = process.memoryUsage().rss;
  const baselineRss = peakRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 25);

  const result = await autocannon({
    url: api.url,
    connections: CONNECTIONS,
    amount: REQUESTS,
    timeout: 30,
    requests: bodies.map((body) => ({
      method: "POST" as const,
      path: "/exports",
      headers: { "content-type": "application/json" },
      body,
      onResponse: (status: number, text: string) => {
        if (status === 201) answers.push(JSON.parse(text) as ExportAnswer);
        else failures.push(`${status} ${text.slice(0, 200)}`);
      },
    })),
  });
  clearInterval(sampler);

  // Every export, checked against what S3 holds.
  const s3Client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
  let checkedBytes = 0;
  for (const answer of answers) {
    const object = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: answer.key }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const manifest = JSON.parse(
      (await (
        await s3Client.send(
          new GetObjectCommand({ Bucket: BUCKET, Key: `manifests/${answer.exportId}.json` }),
        )
      ).Body?.transformToString()) ?? "{}",
    ) as ExportAnswer;
    const digest = createHash("sha256").update(bytes).digest("hex");
    const rows = expectedRows.get(`${answer.customerId}/${answer.subAccountId ?? ""}`);
    if (bytes.length !== answer.bytes || digest !== answer.sha256) {
      failures.push(`${answer.exportId}: stored object differs from the answer`);
    }
    if (manifest.sha256 !== digest || manifest.bytes !== bytes.length) {
      failures.push(`${answer.exportId}: manifest differs from the stored object`);
    }
    if (answer.rows !== rows) failures.push(`${answer.exportId}: ${answer.rows} rows, not ${rows}`);
    checkedBytes += bytes.length;
  }
  if (new Set(answers.map((a) => a.exportId)).size !== answers.length) {
    failures.push("two answers share an exportId");
  }
  if (s3.openUploads.size > 0) failures.push(`${s3.openUploads.size} multipart uploads left open`);
  if (answers.length !== REQUESTS) failures.push(`${answers.length} of ${REQUESTS} exports made`);
  if (peakRss > MAX_RSS_MIB * 1024 * 1024) {
    failures.push(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB is over ${MAX_RSS_MIB} MiB`);
  }
  if (result.errors > 0 || result.timeouts > 0) {
    failures.push(`${result.errors} connection errors, ${result.timeouts} timeouts`);
  }

  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
  console.log(`
| figure | value |
|---|---|
| requests (POST /exports) | ${result.requests.sent} sent, ${result["2xx"]} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts |
| concurrent connections | ${CONNECTIONS} |
| wall time | ${result.duration.toFixed(1)} s (${(REQUESTS / result.duration).toFixed(0)} exports/s) |
| latency p50 / p97.5 / p99 / max | ${result.latency.p50} / ${result.latency.p97_5} / ${result.latency.p99} / ${result.latency.max} ms |
| exports verified (bytes + sha256 vs answer and manifest, rows vs seed) | ${answers.length}, ${mib(checkedBytes)} MiB in all |
| open multipart uploads afterwards | ${s3.openUploads.size} |
| RSS before / peak (whole stack, one process) | ${mib(baselineRss)} / ${mib(peakRss)} MiB |
`);

  s3Client.destroy();
  await api.close();
  await sandbox.stop();
  await s3.stop();
  await rm(dataDir, { recursive: true, force: true });

  if (failures.length > 0) {
    console.error(`FAILED: ${failures.length} problems\n${failures.slice(0, 20).join("\n")}`);
    process.exit(1);
  }
  console.log(`load: ${answers.length} passed, 0 failed`);
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
