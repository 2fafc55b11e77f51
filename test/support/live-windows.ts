import { randomBytes } from "node:crypto";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { startApiServer } from "../../dev/api-gateway.js";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { LocalQueue } from "../../dev/local-queue.js";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";
import { jsonResponse } from "../../lambdas/export-sessions/http.js";
import type { OriginTarget, WindowEvent } from "../../lambdas/lib/intelligence/ports.js";
import { processStatusMessage } from "../../lambdas/lib/intelligence/status-callbacks.js";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { S3RejectedItemSink } from "../../lambdas/lib/windows/s3-rejected-sink.js";
import type { WindowStore } from "../../lambdas/lib/windows/window-store.js";
import { handleWindowEvents } from "../../lambdas/window-events/handler.js";
import { handleLookup } from "../../lambdas/windows-api/handler.js";

/** One metric data point as the processor emitted it. */
export interface EmittedMetric {
  name: string;
  value: number;
  dimensions: Record<string, string>;
}

/**
 * The live windows over loopback, as `npm start` wires them: the webhook routes and the lookups
 * on one API stand-in, the in-process queue delivering to the real processor handler, dynalite
 * behind the real AWS SDK, rejected items in the local S3. `lookupStore` lets a test slow the
 * table's answer down; `nowMs` is the lookups' clock.
 */
export async function startLiveWindows(
  options: {
    lookupStore?: (store: WindowStore) => WindowStore;
    nowMs?: () => number;
    /** The processor's WINDOW_TARGETS (issue 21). */
    targets?: OriginTarget[];
  } = {},
) {
  const dynamo = await new LocalDynamoDb().start();
  const tableName = `windows-${randomBytes(4).toString("hex")}`;
  await dynamo.createWindowsTable(tableName);
  const bucket = "live-windows-test";
  const s3Server = await new LocalS3({ buckets: [bucket] }).start();
  const s3 = new S3Client(localS3ClientConfig(s3Server.endpoint));
  const dynamoClient = new DynamoDBClient(dynamo.clientConfig());
  const capacity: ConsumedCapacity[] = [];
  const store = new DynamoDbWindowStore(dynamoClient, tableName, (used) => capacity.push(used));
  const metrics: EmittedMetric[] = [];
  const metricsSink = {
    singleMetric: () => {
      let dimensions: Record<string, string> = {};
      return {
        addDimensions: (added: Record<string, string>) => {
          dimensions = { ...dimensions, ...added };
        },
        addDimension: (name: string, value: string) => {
          dimensions = { ...dimensions, [name]: value };
        },
        addMetric: (name: string, _unit: string, value: number) =>
          metrics.push({ name, value, dimensions }),
      };
    },
  } as unknown as Pick<Metrics, "singleMetric">;
  let processorFails = false;
  // The bus window intelligence puts to: every event it took, and a switch to refuse them all.
  const events: WindowEvent[] = [];
  let busRefuses = false;
  const intelligence = {
    // A store of its own, so `capacity` holds only the processor's MO writes.
    store: new DynamoDbWindowStore(dynamoClient, tableName),
    bus: {
      put: async (put: readonly WindowEvent[]) => {
        if (!busRefuses) events.push(...put);
        return put.map(() => !busRefuses);
      },
    },
    clock: () => new Date(),
    targets: options.targets,
  };
  const processor = handleWindowEvents(
    () => ({
      store: processorFails ? failingStore() : store,
      rejected: new S3RejectedItemSink(s3, bucket),
      statusCallbacks: (body: string) => processStatusMessage(body, intelligence),
      nowMs: Date.now,
      retentionDays: 7,
    }),
    metricsSink,
  );
  const queue = new LocalQueue({ visibilityTimeoutMs: 50 }).consume(processor);
  const token = randomBytes(18).toString("base64url");
  const api = await startApiServer(
    async () => jsonResponse(404, { error: { code: "NOT_FOUND", message: "No route" } }),
    0,
    "127.0.0.1",
    {
      webhooks: { token, enqueue: (body, attributes) => queue.send(body, attributes) },
      routes: [
        {
          pattern: /^\/windows(\/|$)/,
          handler: handleLookup(
            () => (options.lookupStore ? options.lookupStore(store) : store),
            options.nowMs ?? Date.now,
          ),
        },
      ],
    },
  );
  return {
    url: api.url,
    token,
    queue,
    store,
    s3,
    bucket,
    metrics,
    events,
    capacity,
    /** Makes the bus refuse every event until set back (an EventBridge fault). */
    refuseEvents(refuse: boolean) {
      busRefuses = refuse;
    },
    /** Makes every table write throw until set back (a DynamoDB fault). */
    failTable(fail: boolean) {
      processorFails = fail;
    },
    postMo(body: string, kind: "mo" | "status" = "mo", withToken = token) {
      return fetch(`${api.url}/hooks/wavy/${withToken}/${kind}`, { method: "POST", body });
    },
    async stop() {
      queue.stop();
      await api.close();
      dynamoClient.destroy();
      s3.destroy();
      await dynamo.stop();
      await s3Server.stop();
    },
  };
}

function failingStore(): WindowStore {
  const fault = async () => {
    throw Object.assign(new Error("simulated DynamoDB fault"), { name: "InternalServerError" });
  };
  return {
    advance: fault,
    windowOf: fault,
    windowsOf: fault,
    closingWindows: fault,
    countClosingAfter: fault,
    claimClosingNotice: fault,
    releaseClosingNotice: fault,
  };
}
