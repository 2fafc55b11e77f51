import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { eventBridgeWindowEvents } from "../../../../lambdas/lib/intelligence/eventbridge-window-events.js";

const eventBridge = mockClient(EventBridgeClient);
const USER = "5511988887777";
const events = Array.from({ length: 12 }, (_, i) => ({
  detailType: "Window Closing",
  detail: { destination: `${USER}${i}`, origin: "5511999990000" },
}));

beforeEach(() => eventBridge.reset());

describe("eventBridgeWindowEvents", () => {
  it("puts 10 entries per call and reads each entry's fate in order", async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: "a" },
          { ErrorCode: "InternalFailure" },
          ...Array(8).fill({ EventId: "x" }),
        ],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: "b" }, { EventId: "c" }] });
    const accepted = await eventBridgeWindowEvents(new EventBridgeClient({}), "bus").put(events);
    expect(accepted).toEqual([true, false, ...Array(10).fill(true)]);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]?.args[0].input.Entries?.[0]).toMatchObject({
      Source: "wavy-sessions",
      DetailType: "Window Closing",
      EventBusName: "bus",
    });
  });

  it("says why a put failed, without the users' numbers, and answers false for each", async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error("Region is missing"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    warn.mockClear();
    const accepted = await eventBridgeWindowEvents(new EventBridgeClient({}), "bus").put(
      events.slice(0, 2),
    );
    expect(accepted).toEqual([false, false]);
    const logged = JSON.stringify(warn.mock.calls);
    expect(logged).toContain("Could not put window events");
    expect(logged).not.toContain(USER);
  });
});
