import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClosingNoticeSweeper } from "../../dev/closing-notice-sweeper.js";
import { LocalEventBridge } from "../../dev/eventbridge.js";
import { lambdaContext } from "../../dev/lambda-context.js";
import { LocalDynamoDb } from "../../dev/local-dynamodb.js";
import { emfDocuments, spyOnConsoleLog } from "../support/counter.js";
import { recordInbound } from "../support/windows.js";

/**
 * The deployed handler as Lambda runs it (environment, middy, EMF) against dynalite and the
 * EventBridge stand-in, reached through the SDK's own AWS_ENDPOINT_URL_* variables; and the
 * local sweeper npm start runs.
 */

const BUSINESS = "5511999990000";
const USER = "5511988887777";
const MINUTE = 60_000;
const DAY = 86_400_000;

const dynamo = new LocalDynamoDb();
const eventBridge = new LocalEventBridge();
const saved = { ...process.env };

beforeAll(async () => {
  await dynamo.start();
  await eventBridge.start();
});

afterAll(async () => {
  process.env = saved;
  await eventBridge.stop();
  await dynamo.stop();
});

async function windowClosingIn(tableName: string, destination: string, minutes: number) {
  const client = dynamo.client();
  await recordInbound(client, tableName, {
    destination,
    origin: BUSINESS,
    lastInboundAt: new Date(Date.now() + minutes * MINUTE - DAY).toISOString(),
  });
  client.destroy();
}

describe("closing-notices handler", () => {
  it("puts Window Closing on the configured bus and emits ClosingNoticesSent per origin", async () => {
    const tableName = await dynamo.createWindowsTable("windows-handler");
    await windowClosingIn(tableName, USER, 45);
    await windowClosingIn(tableName, "5511900000002", 120);
    Object.assign(process.env, {
      WINDOWS_TABLE_NAME: tableName,
      EVENT_BUS_NAME: "wavy-bus",
      CLOSING_NOTICES: JSON.stringify({ [BUSINESS]: 60 }),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      POWERTOOLS_METRICS_DISABLED: "false",
    });
    const { handler } = await import("../../lambdas/closing-notices/handler.js");
    const log = spyOnConsoleLog();

    const result = await handler({}, lambdaContext("closing-notices", 60_000));

    expect(result.origins).toEqual([
      expect.objectContaining({ origin: BUSINESS, sent: 1, deferred: 0, complete: true }),
    ]);
    const [event] = await eventBridge.waitFor(1);
    expect(event).toMatchObject({
      "detail-type": "Window Closing",
      eventBusName: "wavy-bus",
      detail: { destination: USER, origin: BUSINESS, closingNoticeMinutes: 60 },
    });
    const sent = emfDocuments(log).find((document) => "ClosingNoticesSent" in document);
    expect(sent).toMatchObject({ ClosingNoticesSent: 1, Origin: BUSINESS });
    expect(sent?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
      expect.arrayContaining(["Origin", "service"]),
    );
    // The log carries the figures, never a user's number.
    expect(JSON.stringify(log.mock.calls)).not.toContain(USER);
  });
});

describe("startClosingNoticeSweeper (npm start)", () => {
  it("prints each event with its detail-type and the destination masked to 4 digits", async () => {
    const tableName = await dynamo.createWindowsTable("windows-local");
    await windowClosingIn(tableName, USER, 30);
    const lines: string[] = [];
    const sweeper = startClosingNoticeSweeper({
      tableName,
      endpoint: dynamo.endpoint,
      intervalMs: 60_000,
      origins: [BUSINESS],
      onEvent: (line) => lines.push(line),
      eventBridgeEndpoint: eventBridge.endpoint,
    });
    try {
      await sweeper.sweepNow();
      await sweeper.sweepNow();
    } finally {
      await sweeper.stop();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[event \d{2}:\d{2}:\d{2}Z\] wavy-sessions "Window Closing" \*{9}7777 via 5511999990000: closes .+ \((29|30) min left\)$/,
    );
    expect(lines[0]).not.toContain(USER);
  });
});
