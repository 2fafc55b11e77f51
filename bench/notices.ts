import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { BatchWriteCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { LocalEventBridge } from "../dev/eventbridge.js";
import { WindowsDynalite } from "../dev/windows-dynalite.js";
import { sweepClosingNotices } from "../lambdas/lib/intelligence/closing-notices.js";
import { DynamoDbWindowStore } from "../lambdas/lib/intelligence/dynamodb-window-store.js";
import { eventBridgeWindowEvents } from "../lambdas/lib/intelligence/eventbridge-window-events.js";
import { reconcileSnapshot, type SnapshotRow } from "../lambdas/lib/intelligence/reconcile.js";

/**
 * `npm run bench:notices [-- --windows 100000 --lead 60]`: what the closing-notice sweeper costs
 * per 100,000 open windows of one origin, their closesAt spread evenly over the next 24 h, on
 * dynalite (DynamoDB's protocol; its ReturnConsumedCapacity follows DynamoDB's rounding: item
 * sizes summed per page, 4 KB per read unit, halved for the index's eventually consistent reads)
 * with the real SDK, events to the EventBridge stand-in over loopback. Side by side:
 * - backlog: the first sweep after notices are switched on (every window in the lead is new),
 *   at the per-run cap (CLOSING_NOTICES.maxPerOriginPerRun);
 * - steady: a sweep 5 minutes after a complete one (only the windows that entered the lead since);
 * - scan: what reading the whole table would cost instead of the index (a Scan, for comparison only);
 * - reconcile: a counter's CSV of the same windows plus 1 % the webhook missed, merged in
 *   (the index read once, the missing windows written, the zone measured).
 * Times are of dynalite on loopback (slower than DynamoDB per call); the units are what
 * DynamoDB would charge.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const ORIGIN = "5511999990000";

interface Figures {
  ms: number;
  readUnits: number;
  writeUnits: number;
  queries: number;
  itemsRead: number;
  sent: number;
}

export interface NoticesBenchResult {
  windows: number;
  leadMinutes: number;
  backlog: Figures;
  drain: { runs: number; sent: number };
  steady: Figures;
  scan: { ms: number; readUnits: number; itemsRead: number };
  reconcile: { ms: number; readUnits: number; writeUnits: number; rows: number; written: number };
}

const pad8 = (n: number) => String(n).padStart(8, "0");
const destinationOf = (i: number) => `55119${pad8((i * 48_271) % 100_000_000)}`;
const closesAtOf = (i: number, windows: number, now: number) =>
  now + 1 + Math.floor((((i * 7919) % windows) / windows) * DAY);

async function load(dynamo: WindowsDynalite, tableName: string, windows: number, now: number) {
  const client = dynamo.documentClient();
  const writes: Promise<unknown>[] = [];
  for (let start = 0; start < windows; start += 25) {
    const items = [];
    for (let i = start; i < Math.min(windows, start + 25); i++) {
      // Evenly spread over the next 24 h, in an order unrelated to the key.
      const closesAt = closesAtOf(i, windows, now);
      const lastInboundAt = closesAt - DAY;
      items.push({
        PutRequest: {
          Item: {
            destination: destinationOf(i),
            origin: ORIGIN,
            lastInboundAt: new Date(lastInboundAt).toISOString(),
            closesAt: new Date(closesAt).toISOString(),
            lastMessageId: "ce425ffe-bc62-421f-9261-e6819a5eab43",
            seenBy: "webhook",
            expiresAt: Math.ceil(closesAt / 1000) + 7 * 86_400,
            updatedAt: new Date(lastInboundAt).toISOString(),
          },
        },
      });
    }
    writes.push(client.send(new BatchWriteCommand({ RequestItems: { [tableName]: items } })));
    if (writes.length >= 16) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  client.destroy();
}

export async function benchNotices(
  windows = 100_000,
  leadMinutes = 60,
  log: (line: string) => void = console.log,
): Promise<NoticesBenchResult> {
  const dynamo = await new WindowsDynalite().start();
  const eventBridge = await new LocalEventBridge().start();
  // The bench runs outside the test setup: the stand-ins need a region and any credentials.
  process.env.AWS_REGION ??= "us-east-1";
  const eb = new EventBridgeClient({
    endpoint: eventBridge.endpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const bus = eventBridgeWindowEvents(eb, "default");
  const client = dynamo.documentClient();
  try {
    const tableName = await dynamo.createWindowsTable("windows-bench");
    const now = Date.parse("2026-12-06T12:00:00.000Z");
    const loadStart = performance.now();
    await load(dynamo, tableName, windows, now);
    log(`loaded ${windows} windows in ${Math.round(performance.now() - loadStart)} ms`);

    const settings = { [ORIGIN]: leadMinutes };
    const run = async (at: number, maxPerOrigin?: number): Promise<Figures> => {
      const store = new DynamoDbWindowStore(client, tableName);
      const started = performance.now();
      const result = await sweepClosingNotices(settings, {
        store,
        bus,
        clock: () => new Date(at),
        ...(maxPerOrigin && { maxPerOrigin }),
      });
      return {
        ms: Math.round(performance.now() - started),
        ...store.capacity,
        sent: result.origins[0]?.sent ?? 0,
      };
    };

    const backlog = await run(now);
    log(`backlog sweep: ${JSON.stringify(backlog)}`);
    let drainRuns = 1;
    let drained = backlog.sent;
    for (;;) {
      const next = await run(now);
      if (next.sent === 0) break;
      drainRuns++;
      drained += next.sent;
    }
    log(`backlog drained in ${drainRuns} runs (${drained} notices)`);
    const steady = await run(now + 5 * MINUTE);
    log(`steady sweep (+5 min): ${JSON.stringify(steady)}`);

    const scanStart = performance.now();
    let scanUnits = 0;
    let scanned = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      scanUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      scanned += page.ScannedCount ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const scan = {
      ms: Math.round(performance.now() - scanStart),
      readUnits: scanUnits,
      itemsRead: scanned,
    };
    log(`scan (comparison): ${JSON.stringify(scan)}`);

    // The CSV Wavy would serve: every window (São Paulo wall clock) and 1 % more the webhook missed.
    const saoPaulo = (ms: number) =>
      new Date(ms - 3 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
    const rows: SnapshotRow[] = [];
    for (let i = 0; i < windows; i++) {
      rows.push({
        destination: destinationOf(i),
        sessionCreatedAt: saoPaulo(closesAtOf(i, windows, now) - DAY),
      });
    }
    for (let i = 0; i < windows / 100; i++) {
      rows.push({ destination: `55118${pad8(i)}`, sessionCreatedAt: saoPaulo(now - 3_600_000) });
    }
    const reconcileStore = new DynamoDbWindowStore(client, tableName);
    const reconcileStart = performance.now();
    const merged = await reconcileSnapshot(
      {
        target: { customerId: "42", subAccountId: null },
        origins: [ORIGIN],
        measuredAt: new Date(now),
        rows,
      },
      {
        store: reconcileStore,
        clock: () => new Date(now),
        timeZone: "America/Sao_Paulo",
        retentionDays: 7,
      },
    );
    const reconcile = {
      ms: Math.round(performance.now() - reconcileStart),
      readUnits: reconcileStore.capacity.readUnits,
      writeUnits: reconcileStore.capacity.writeUnits,
      rows: merged.rows,
      written: merged.drift[0]?.written ?? 0,
    };
    log(`reconcile: ${JSON.stringify(reconcile)} zone ${JSON.stringify(merged.zone)}`);
    return {
      windows,
      leadMinutes,
      backlog,
      drain: { runs: drainRuns, sent: drained },
      steady,
      scan,
      reconcile,
    };
  } finally {
    client.destroy();
    eb.destroy();
    await eventBridge.stop();
    await dynamo.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { windows: { type: "string" }, lead: { type: "string" } },
  });
  const result = await benchNotices(Number(values.windows ?? 100_000), Number(values.lead ?? 60));
  const perSweep = (figures: Figures) =>
    `| ${figures.sent} | ${figures.itemsRead} | ${figures.queries} | ${figures.readUnits} | ${figures.writeUnits} | ${figures.ms} |`;
  console.log(
    [
      "",
      `${result.windows} open windows, lead ${result.leadMinutes} min:`,
      "| sweep | notices | items read | queries | read units | write units | ms |",
      "|---|---|---|---|---|---|---|",
      `| backlog (first run, cap) ${perSweep(result.backlog)}`,
      `| steady (5 min later) ${perSweep(result.steady)}`,
      `| whole-table Scan (comparison) | - | ${result.scan.itemsRead} | - | ${result.scan.readUnits} | - | ${result.scan.ms} |`,
      `backlog drained in ${result.drain.runs} runs (${result.drain.sent} notices)`,
      `reconcile ${result.reconcile.rows} CSV rows: ${result.reconcile.readUnits} read units, ${result.reconcile.writeUnits} write units (${result.reconcile.written} windows added), ${result.reconcile.ms} ms`,
    ].join("\n"),
  );
}
