import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { DynamoDbWindowStore } from "../../lambdas/lib/windows/dynamodb-window-store.js";
import { windowWrite } from "../../lambdas/lib/windows/window.js";
import { emfDocuments, spyOnConsoleLog } from "../support/counter.js";

// Before the handler module builds its Metrics: POWERTOOLS_DEV would turn them off.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});

const HOUR = 3_600_000;
const BUSINESS = "5511999990000";
const OTHER = "5511888880000";

/** The counter's OpenWindows (docs/contract.md, "Live windows"), from the table in dynalite. */
describe("the counter's OpenWindows", () => {
  let wavy: WavySimulator;
  let dynamo: LocalDynamoDb;

  beforeAll(async () => {
    wavy = await new WavySimulator().start();
    dynamo = await new LocalDynamoDb().start();
    await dynamo.createWindowsTable("counter-windows");
    Object.assign(process.env, {
      WAVY_USER_NAME: wavy.credentials.userName,
      WAVY_AUTH_TOKEN: wavy.credentials.authenticationToken,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
      WINDOWS_TABLE_NAME: "counter-windows",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    });
    const store = new DynamoDbWindowStore(
      new DynamoDBClient(dynamo.clientConfig()),
      "counter-windows",
    );
    const now = Date.now();
    // Open: 3 for BUSINESS, 1 for OTHER; closed: 2 for BUSINESS.
    const windows: [string, string, number][] = [
      ["5511900000001", BUSINESS, 1],
      ["5511900000002", BUSINESS, 12],
      ["5511900000003", BUSINESS, 23],
      ["5511900000004", OTHER, 2],
      ["5511900000005", BUSINESS, 25],
      ["5511900000006", BUSINESS, 40],
    ];
    for (const [destination, origin, hoursAgo] of windows) {
      await store.advance(
        windowWrite(
          { id: destination, destination, origin, receivedAtMs: now - hoursAgo * HOUR },
          { retentionDays: 7, nowMs: now },
        ),
      );
    }
  });

  afterAll(async () => {
    await wavy.stop();
    await dynamo.stop();
    delete process.env.WINDOWS_TABLE_NAME;
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  });

  it("emits OpenWindows per origin (dimension Origin) and their sum beside OpenSessions", async () => {
    wavy.csvByTarget.set("42", "source;session_created_at\n");
    const log = spyOnConsoleLog();
    const { handler } = await import("../../lambdas/count-sessions/handler.js");

    const result = await handler(
      { customerId: "42", origins: [BUSINESS, OTHER, "5511777770000"] },
      lambdaContext("count-sessions", 30_000),
    );

    expect(result).toMatchObject({
      openSessions: 0,
      openWindows: { [BUSINESS]: 3, [OTHER]: 1, "5511777770000": 0 },
    });
    const openWindows = emfDocuments(log)
      .filter((document) => "OpenWindows" in document)
      .map((document) => ({
        dimensions: document._aws.CloudWatchMetrics[0]?.Dimensions[0]?.slice().sort(),
        origin: document.Origin,
        value: document.OpenWindows,
      }));
    expect(openWindows).toEqual(
      expect.arrayContaining([
        { dimensions: ["Origin", "service"], origin: BUSINESS, value: 3 },
        { dimensions: ["Origin", "service"], origin: OTHER, value: 1 },
        { dimensions: ["Origin", "service"], origin: "5511777770000", value: 0 },
        { dimensions: ["CustomerId", "SubAccountId", "service"], origin: undefined, value: 4 },
      ]),
    );
  });

  it("counts them while the Wavy secret still holds the placeholder", async () => {
    const { handleCount } = await import("../../lambdas/count-sessions/handler.js");
    const { loadWavyConfig } = await import("../../lambdas/lib/config.js");
    const { WavyNotConfiguredError } = await import("../../lambdas/lib/errors.js");
    const notConfigured = async (): Promise<never> => {
      throw new WavyNotConfiguredError();
    };
    const count = handleCount(() => ({
      config: loadWavyConfig(),
      credentials: { get: notConfigured, refresh: notConfigured },
      windows: () =>
        new DynamoDbWindowStore(new DynamoDBClient(dynamo.clientConfig()), "counter-windows"),
    }));

    const result = await count(
      { customerId: "42", origins: [OTHER] },
      lambdaContext("count-sessions", 30_000),
    );

    expect(result).toMatchObject({ notConfigured: true, openWindows: { [OTHER]: 1 } });
  });

  it("refuses an event whose origins is not a list of business numbers, counting nothing", async () => {
    const { handler } = await import("../../lambdas/count-sessions/handler.js");

    await expect(
      handler({ customerId: "42", origins: [] }, lambdaContext("count-sessions", 30_000)),
    ).rejects.toThrow(/origins/);
  });
});
