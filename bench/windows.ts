import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import autocannon from "autocannon";
import type { SQSEvent } from "aws-lambda";
import { startApiServer } from "../dev/api-gateway.js";
import { LocalDynamoDb } from "../dev/local-dynamodb.js";
import { LocalQueue } from "../dev/local-queue.js";
import { seededRandom } from "../dev/seeded-random.js";
import { moBulk, SANDBOX_ORIGIN } from "../dev/wavy-sandbox.js";
import { jsonResponse } from "../lambdas/export-sessions/http.js";
import { DynamoDbWindowStore } from "../lambdas/lib/windows/dynamodb-window-store.js";
import type { WindowStore } from "../lambdas/lib/windows/window-store.js";
import { handleWindowEvents } from "../lambdas/window-events/handler.js";
import { handleLookup } from "../lambdas/windows-api/handler.js";
import { fixed, median } from "./stats.js";

/**
 * `npm run bench:windows` (BENCH_QUICK=1: 10 s and 20,000 MOs): the live windows' figures
 * (issue 20), each over loopback with the real handlers and the real AWS SDK against dynalite:
 * - webhook: autocannon posts Wavy MO bulks of 1-50 items at a sustained 1,000 MO/s for 30 s to
 *   the local stack (the API stand-in, the in-process queue, the processor and dynalite in one
 *   child process, as `npm start` runs them); the answer time is the route's (token check, size
 *   check, enqueue), which is what API Gateway → SQS does deployed;
 * - processor: one instance (one child, one batch of 10 messages at a time, as one Lambda
 *   execution environment takes them) applies 100,000 MOs from 20,000 users to a dynalite in
 *   another process; items per second, DynamoDB write units per MO from ConsumedCapacity (plus
 *   one per failed condition, which DynamoDB charges but does not report), and RSS sampled every
 *   10,000 MOs;
 * - lookup: autocannon GETs /windows/{destination} for users with windows; p50/p99, and the
 *   DynamoDB calls per request counted at the store.
 */

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const QUICK = process.env.BENCH_QUICK === "1";
/** The full plan is issue 20's; the quick one is for trying a change. */
export const WINDOWS_PLANS = {
  quick: { webhookSeconds: 10, processorMos: 20_000, lookupSeconds: 5 },
  full: { webhookSeconds: 30, processorMos: 100_000, lookupSeconds: 10 },
} as const;
type WindowsPlan = (typeof WINDOWS_PLANS)[keyof typeof WINDOWS_PLANS];
const PLAN: WindowsPlan = QUICK ? WINDOWS_PLANS.quick : WINDOWS_PLANS.full;
const MO_PER_SECOND = 1_000;
const TOKEN = "bench-token-0123456789";
const USERS = 20_000;

type StackMessage =
  | { type: "ready"; url: string; dynamoEndpoint: string }
  | { type: "stats"; storeCalls: number; queueDepth: number; applied: number };

/** A user's number, spread over Brazilian area codes, stable per index. */
const userNumber = (index: number) => `55${11 + (index % 80)}9${String(index).padStart(8, "0")}`;

function bulkSize(random: () => number): number {
  return 1 + Math.floor(random() * 50);
}

/** Child "dynamo": dynalite with the windows' table, in a process of its own as DynamoDB is. */
async function runDynamo(): Promise<void> {
  const dynamo = await new LocalDynamoDb().start();
  await dynamo.createWindowsTable("bench-windows");
  process.send?.({ type: "ready", url: "", dynamoEndpoint: dynamo.endpoint });
}

function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

/** Child "stack": the API stand-in, the queue and the processor as npm start wires them. */
async function runStack(dynamoEndpoint: string): Promise<void> {
  const client = dynamoClient(dynamoEndpoint);
  const store = new DynamoDbWindowStore(client, "bench-windows");
  // The lookups' own store, so their calls are counted apart from the processor's writes.
  let storeCalls = 0;
  const lookupStore = new DynamoDbWindowStore(client, "bench-windows", () => storeCalls++);
  let applied = 0;
  const quiet = {
    singleMetric: () => ({
      addDimensions: () => {},
      addMetric: (name: string, _unit: string, value: number) => {
        if (name === "WebhookItemsApplied") applied += value;
      },
    }),
  } as unknown as Pick<Metrics, "singleMetric">;
  const processor = handleWindowEvents(
    () => ({
      store,
      rejected: { keep: async () => {} },
      statusCallbacks: moOnly,
      nowMs: Date.now,
      retentionDays: 7,
    }),
    quiet,
  );
  const queue = new LocalQueue().consume(processor);
  const api = await startApiServer(
    async () => jsonResponse(404, { error: { code: "NOT_FOUND", message: "No route" } }),
    0,
    "127.0.0.1",
    {
      webhooks: { token: TOKEN, enqueue: (body, attributes) => queue.send(body, attributes) },
      routes: [
        { pattern: /^\/windows(\/|$)/, handler: handleLookup((): WindowStore => lookupStore) },
      ],
    },
  );
  process.on("message", (message: { type: string }) => {
    if (message.type === "pause") queue.stop();
    if (message.type === "resume") queue.consume(processor);
    if (message.type === "stats") {
      process.send?.({ type: "stats", storeCalls, queueDepth: queue.depth, applied });
    }
  });
  process.send?.({ type: "ready", url: api.url, dynamoEndpoint });
}

function forkChild(role: string, args: string[] = []): ChildProcess {
  return fork(fileURLToPath(import.meta.url), [role, ...args], {
    cwd: ROOT,
    // --expose-gc: the processor samples the heap it retains, after a full collection.
    execArgv: ["--import", "tsx", ...(role === "processor" ? ["--expose-gc"] : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

async function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  type: T["type"],
): Promise<T> {
  for (;;) {
    const [message] = (await once(child, "message")) as [T];
    if (message.type === type) return message;
  }
}

async function stackStats(stack: ChildProcess) {
  stack.send({ type: "stats" });
  return nextMessage<Extract<StackMessage, { type: "stats" }>>(stack, "stats");
}

interface WebhookFigures {
  seconds: number;
  requests: number;
  mos: number;
  moPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  non2xx: number;
}

export interface WindowsFigures {
  /** Posted to the local stack as npm start runs it, the processor in the same process. */
  webhook: WebhookFigures;
  /** The same load with the processor paused: the route and the enqueue only. */
  answerPath: WebhookFigures;
  processor: {
    mos: number;
    moPerSecond: number;
    cpuMsPerMo: number;
    writeUnitsPerMo: number;
    writesPerMo: number;
    rssMb: number[];
    /** V8 heap in use right after a full collection: what the run retains. */
    heapMb: number[];
  };
  lookup: { requests: number; p50: number; p99: number; storeCallsPerRequest: number };
}

export async function benchWindows(
  log: (line: string) => void = console.log,
  plan: WindowsPlan = PLAN,
): Promise<WindowsFigures> {
  const dynamo = forkChild("dynamo");
  const { dynamoEndpoint } = await nextMessage<Extract<StackMessage, { type: "ready" }>>(
    dynamo,
    "ready",
  );
  const stack = forkChild("stack", [dynamoEndpoint]);
  const ready = await nextMessage<Extract<StackMessage, { type: "ready" }>>(stack, "ready");
  try {
    // Webhook: 1,000 MO/s in bulks of 1-50 (25.5 on average), rate-limited by autocannon.
    const random = seededRandom(7);
    const bodies = Array.from({ length: 2_000 }, (_, i) => {
      const size = bulkSize(random);
      const body = moBulk(
        Array.from({ length: size }, (_, j) => ({
          id: `bench-${i}-${j}`,
          source: userNumber(Math.floor(random() * USERS)),
          receivedAt: Date.now(),
        })),
      );
      return { size, body };
    });
    const meanBulk = bodies.reduce((sum, b) => sum + b.size, 0) / bodies.length;
    const postBulks = async (label: string) => {
      let sent = 0;
      let mos = 0;
      log(
        `webhook (${label}): ${MO_PER_SECOND} MO/s in bulks of 1-50 for ${plan.webhookSeconds} s`,
      );
      const run = await autocannon({
        url: `${ready.url}/hooks/wavy/${TOKEN}/mo`,
        connections: 10,
        duration: plan.webhookSeconds,
        overallRate: Math.round(MO_PER_SECOND / meanBulk),
        requests: [
          {
            method: "POST",
            setupRequest: (request) => {
              const next = bodies[sent++ % bodies.length] as { size: number; body: string };
              mos += next.size;
              return { ...request, body: next.body };
            },
          },
        ],
      });
      const figures = {
        seconds: plan.webhookSeconds,
        requests: run.requests.total,
        mos,
        moPerSecond: mos / plan.webhookSeconds,
        p50: run.latency.p50,
        p99: run.latency.p99,
        p999: run.latency.p99_9,
        errors: run.errors,
        non2xx: run.non2xx,
      };
      log(`webhook (${label}): ${JSON.stringify(figures)}`);
      return figures;
    };
    // As npm start runs it: the processor drains the queue in the same process meanwhile.
    const webhookFigures = await postBulks("with the processor in the same process");
    for (let waited = 0; (await stackStats(stack)).queueDepth > 0 && waited < 300; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    // The deployed answer path alone: the route and the enqueue, the processor elsewhere.
    stack.send({ type: "pause" });
    const answerPathFigures = await postBulks("the answer path alone");
    stack.send({ type: "resume" });
    for (let waited = 0; (await stackStats(stack)).queueDepth > 0 && waited < 600; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    for (let waited = 0; (await stackStats(stack)).queueDepth > 0 && waited < 300; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    // Processor: one instance against a dynalite in another process (the stack's).
    const processor = forkChild("processor", [ready.dynamoEndpoint, String(plan.processorMos)]);
    const processed = await nextMessage<{ type: "processed" } & WindowsFigures["processor"]>(
      processor,
      "processed",
    );
    processor.kill();
    const { type: _type, ...processorFigures } = processed;
    log(`processor: ${JSON.stringify(processorFigures)}`);

    // Lookup: users the webhook run gave windows to.
    let lookups = 0;
    const lookup = await autocannon({
      url: ready.url,
      connections: 10,
      duration: plan.lookupSeconds,
      requests: [
        {
          method: "GET",
          setupRequest: (request) => ({
            ...request,
            path: `/windows/${userNumber(lookups++ % USERS)}`,
          }),
        },
      ],
    });
    const lookupFigures = {
      requests: lookup.requests.total,
      p50: lookup.latency.p50,
      p99: lookup.latency.p99,
      storeCallsPerRequest: await callsPerLookup(stack, ready.url),
    };
    log(`lookup: ${JSON.stringify(lookupFigures)}`);
    return {
      webhook: webhookFigures,
      answerPath: answerPathFigures,
      processor: processorFigures,
      lookup: lookupFigures,
    };
  } finally {
    stack.kill();
    dynamo.kill();
  }
}

/**
 * DynamoDB calls per lookup, exactly: 200 requests one after another (autocannon's total leaves
 * out the requests still in flight when it stops, whose calls the store has counted).
 */
async function callsPerLookup(stack: ChildProcess, url: string): Promise<number> {
  const requests = 200;
  const before = await stackStats(stack);
  for (let i = 0; i < requests; i++) {
    const query = i % 2 === 0 ? "" : `?origin=${SANDBOX_ORIGIN}`;
    const answer = await fetch(`${url}/windows/${userNumber(i)}${query}`);
    if (answer.status !== 200) throw new Error(`lookup answered ${answer.status}`);
    await answer.arrayBuffer();
  }
  const after = await stackStats(stack);
  return (after.storeCalls - before.storeCalls) / requests;
}

/** Child "processor": one execution environment taking batches of 10 messages, one at a time. */
async function runProcessor(dynamoEndpoint: string, total: number): Promise<void> {
  const client = dynamoClient(dynamoEndpoint);
  let writeUnits = 0;
  let calls = 0;
  const store = new DynamoDbWindowStore(client, "bench-windows", (capacity) => {
    writeUnits += capacity.CapacityUnits ?? 0;
    calls++;
  });
  let attempted = 0;
  let moved = 0;
  const counting: WindowStore = Object.assign(Object.create(store) as WindowStore, {
    advance: async (window: Parameters<WindowStore["advance"]>[0]) => {
      attempted++;
      const wrote = await store.advance(window);
      if (wrote) moved++;
      return wrote;
    },
  });
  const processor = handleWindowEvents(
    () => ({
      store: counting,
      rejected: { keep: async () => {} },
      statusCallbacks: moOnly,
      nowMs: Date.now,
      retentionDays: 7,
    }),
    { singleMetric: () => ({ addDimensions: () => {}, addMetric: () => {} }) } as unknown as Pick<
      Metrics,
      "singleMetric"
    >,
  );
  const random = seededRandom(11);
  const rssMb: number[] = [];
  const heapMb: number[] = [];
  let done = 0;
  let nextSample = 0;
  let message = 0;
  const started = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  while (done < total) {
    const records: SQSEvent["Records"] = [];
    for (let m = 0; m < 10 && done < total; m++) {
      const size = Math.min(bulkSize(random), total - done);
      const base = Date.now() - 60_000;
      const body = moBulk(
        Array.from({ length: size }, (_, j) => ({
          id: `p-${message}-${j}`,
          source: userNumber(Math.floor(random() * USERS)),
          receivedAt: base + Math.floor(random() * 60_000),
        })),
      );
      done += size;
      records.push({
        messageId: `bench-${message++}`,
        receiptHandle: "bench",
        body,
        attributes: {} as SQSEvent["Records"][number]["attributes"],
        messageAttributes: { kind: { stringValue: "mo", dataType: "String" } },
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bench",
        awsRegion: "us-east-1",
      });
    }
    const answer = await processor({ Records: records });
    if (answer.batchItemFailures.length > 0)
      throw new Error("the bench's processor reported failures");
    if (done >= nextSample) {
      rssMb.push(process.memoryUsage.rss() / 1e6);
      (globalThis as { gc?: () => void }).gc?.();
      heapMb.push(process.memoryUsage().heapUsed / 1e6);
      nextSample += total / 10;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuAtStart);
  // DynamoDB charges a failed condition as a write of the item's size (1 unit for a window) and
  // reports no ConsumedCapacity with the exception: counted here as one unit each.
  const failedConditions = attempted - moved;
  process.send?.({
    type: "processed",
    mos: total,
    moPerSecond: total / seconds,
    // The function's own CPU (parsing, folding, the SDK), apart from dynalite's.
    cpuMsPerMo: (cpu.user + cpu.system) / 1000 / total,
    writeUnitsPerMo: (writeUnits + failedConditions) / total,
    writesPerMo: attempted / total,
    rssMb: rssMb.map((mb) => Number(mb.toFixed(1))),
    heapMb: heapMb.map((mb) => Number(mb.toFixed(1))),
    calls,
  });
}

/** The Markdown table `npm run bench` puts in its report. */
export function formatWindows(figures: WindowsFigures): string {
  const { webhook, answerPath, processor, lookup } = figures;
  const rss = processor.rssMb;
  const firstHalf = rss.slice(0, Math.ceil(rss.length / 2));
  const secondHalf = rss.slice(Math.ceil(rss.length / 2));
  return [
    "| figure | value |",
    "|---|---|",
    `| webhook: MOs sent / seconds / requests | ${webhook.mos.toLocaleString("en")} / ${webhook.seconds} / ${webhook.requests.toLocaleString("en")} (${fixed(webhook.moPerSecond, 0)} MO/s) |`,
    `| webhook answer, processor in the same process: p50 / p99 / p99.9 (ms) | ${webhook.p50} / ${webhook.p99} / ${webhook.p999} |`,
    `| webhook errors / non-2xx | ${webhook.errors} / ${webhook.non2xx} |`,
    `| answer path alone (processor paused): MOs / p50 / p99 / p99.9 (ms) | ${answerPath.mos.toLocaleString("en")} / ${answerPath.p50} / ${answerPath.p99} / ${answerPath.p999} |`,
    `| answer path alone: errors / non-2xx | ${answerPath.errors} / ${answerPath.non2xx} |`,
    `| processor: MOs applied per second, one instance | ${fixed(processor.moPerSecond, 0)} (${processor.mos.toLocaleString("en")} MOs) |`,
    `| processor: its own CPU per MO (ms), dynalite apart | ${fixed(processor.cpuMsPerMo, 3)} (so ${fixed(1000 / processor.cpuMsPerMo, 0)} MO per CPU-second) |`,
    `| processor: DynamoDB writes / write units per MO | ${fixed(processor.writesPerMo, 3)} / ${fixed(processor.writeUnitsPerMo, 3)} |`,
    `| processor: RSS every ${(processor.mos / 10).toLocaleString("en")} MOs (MB) | ${rss.join(", ")} |`,
    `| processor: RSS median, first half → second half (MB) | ${fixed(median(firstHalf))} → ${fixed(median(secondHalf))} |`,
    `| processor: heap retained after a full GC, every ${(processor.mos / 10).toLocaleString("en")} MOs (MB) | ${processor.heapMb.join(", ")} |`,
    `| lookup GET /windows/{destination}: requests / p50 / p99 (ms) | ${lookup.requests.toLocaleString("en")} / ${lookup.p50} / ${lookup.p99} |`,
    `| lookup: DynamoDB calls per request (200 in a row, half with ?origin=) | ${fixed(lookup.storeCallsPerRequest, 3)} |`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [role, ...args] = process.argv.slice(2);
  if (role === "dynamo") {
    await runDynamo();
  } else if (role === "stack") {
    await runStack(args[0] as string);
  } else if (role === "processor") {
    await runProcessor(args[0] as string, Number(args[1]));
  } else {
    const loadBefore = loadavg().map((value) => value.toFixed(1));
    const figures = await benchWindows((line) => console.error(line));
    const loadAfter = loadavg().map((value) => value.toFixed(1));
    console.log(
      `Node ${process.version}, ${QUICK ? "quick" : "full"} plan ${JSON.stringify(PLAN)}, ` +
        `load average ${loadBefore.join(" ")} → ${loadAfter.join(" ")} (2 cores, shared)\n`,
    );
    console.log(formatWindows(figures));
    process.exit(0);
  }
}

/**
 * docs/benchmarks.md's section on the live windows (issue 20), around the table of one run:
 * written by `npm run bench -- --update-docs`, and by hand from `npm run bench:windows`.
 */
export function windowsSection(table: string | undefined): string {
  return `## Live windows: webhook, processor, lookup (\`npm run bench:windows\`)

Issue 20's goals, over loopback with the real handlers and the real AWS SDK against dynalite
(an in-process DynamoDB-protocol server; its own speed, not DynamoDB's, bounds the processor's
MO/s here). The webhook is posted Wavy MO bulks of 1-50 items at a sustained 1,000 MO/s for
30 s through the local stack \`npm start\` runs; once with the processor draining the queue in the
same process, as \`npm start\` runs it, and once with it paused, which is what the deployed
answer path is. One processor instance (one batch of 10 messages at a time) applies 100,000 MOs
from 20,000 users; write units per MO come from ConsumedCapacity (a failed condition counted as
the unit DynamoDB charges for it); the retained heap is sampled after a full GC every 10,000
MOs. The lookup is \`GET /windows/{destination}\` for users with windows, its DynamoDB calls
counted at the store.

${table ?? "(not measured in this run)"}

**The deployed answer path.** Between Wavy's request and its \`200\` there is API Gateway and one
SQS SendMessage, nothing else: the webhook routes are an AWS service integration to SQS
(docs/contract.md, "Live windows"; the stack's construct), so no function runs there and there
is no cold start to wait for: the 200 ms rule is met or missed by API Gateway's own overhead plus
one SendMessage in the same region, both of which API Gateway reports per request (\`Latency\`,
\`IntegrationLatency\` in CloudWatch) for the operator to watch. What the loopback figures add:
the route itself (token compared in constant time, size checked, body handed over untouched)
costs no more than the HTTP round trip (the *answer path alone* row), and a processor that falls
behind only lengthens the queue: it never slows the answer. Locally the answer times grow when
the processor shares the process and the 2 shared cores (the first webhook row); deployed, the
processor is another function, scaled by the event source.

**Processor.** Each MO costs one conditional UpdateItem at most, fewer when one bulk holds
several MOs for the same window (folded, latest wins): about one write unit per MO, replays and
out-of-order MOs included (a failed condition is still charged). Its own CPU per MO (parsing,
the SDK) is the row above; dynalite's is apart.`;
}

/** The bench posts MOs only: a status message reaching the processor is a bench bug. */
async function moOnly(): Promise<never> {
  throw new Error("the windows bench sends no status callbacks");
}
