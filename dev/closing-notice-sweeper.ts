import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { type Clock, systemClock } from "../lambdas/lib/clock.js";
import { EVENT, WINDOW_EVENT } from "../lambdas/lib/contract.js";
import {
  type ClosingNoticeSettings,
  type SweepResult,
  sweepClosingNotices,
} from "../lambdas/lib/intelligence/closing-notices.js";
import { eventBridgeWindowEvents } from "../lambdas/lib/intelligence/eventbridge-window-events.js";
import type { WindowEvent, WindowEventBus } from "../lambdas/lib/intelligence/ports.js";
import { DynamoDbWindowStore } from "../lambdas/lib/windows/dynamodb-window-store.js";
import { maskNumber } from "../lambdas/lib/windows/mask.js";
import { LocalDynamoDb } from "./local-dynamodb.js";

/**
 * One printed line per window event, as `npm start` shows them: the detail-type and the
 * destination masked to its last 4 digits (docs/contract.md, "Window intelligence").
 */
export function windowEventLine(event: WindowEvent, time: Date = new Date()): string {
  const detail = event.detail as Record<string, unknown> & {
    destination?: string;
    origin?: string;
  };
  const stamp = `[event ${time.toISOString().slice(11, 19)}Z]`;
  const who = `${maskNumber(String(detail.destination ?? ""))} via ${String(detail.origin ?? "?")}`;
  let what = "";
  if (event.detailType === WINDOW_EVENT.closing) {
    what = `closes ${String(detail.closesAt)} (${String(detail.minutesLeft)} min left)`;
  } else if (event.detailType === WINDOW_EVENT.sendRejected) {
    const window = detail.window as { state?: string; closedMinutesBeforeSend?: number | null };
    const closed =
      window?.state === "closed" ? ` ${window.closedMinutesBeforeSend} min before the send` : "";
    what = `code ${String(detail.code)}, window ${window?.state ?? "?"}${closed}`;
  }
  return `${stamp} ${EVENT.source} "${event.detailType}" ${who}: ${what}`;
}

export interface ClosingNoticeSweeperOptions {
  tableName: string;
  /** The DynamoDB endpoint (dynalite's). */
  endpoint: string;
  intervalMs: number;
  /** Origin -> closingNoticeMinutes; or `origins` with one `closingNoticeMinutes` for all. */
  settings?: ClosingNoticeSettings;
  origins?: readonly string[];
  closingNoticeMinutes?: number;
  /** Called with each event put, and its printable line (default: the line is printed). */
  onEvent?: (line: string, event: WindowEvent) => void;
  /** The EventBridge stand-in's endpoint: the events also go there (then it prints them). */
  eventBridgeEndpoint?: string;
  eventBusName?: string;
  clock?: Clock;
}

export interface RunningSweeper {
  /** One sweep now (what the timer does), for tests and the console. */
  sweepNow(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/**
 * The closing-notice sweeper as EventBridge Scheduler would run it, on a local timer: for
 * local/start.ts (every 30 s there) and the tests. Sweeps never overlap here; the claim would
 * keep them safe if they did.
 */
export function startClosingNoticeSweeper(options: ClosingNoticeSweeperOptions): RunningSweeper {
  const settings: ClosingNoticeSettings =
    options.settings ??
    Object.fromEntries(
      (options.origins ?? []).map((origin) => [origin, options.closingNoticeMinutes ?? 60]),
    );
  const dynamo = new LocalDynamoDb();
  dynamo.endpoint = options.endpoint;
  const client = dynamo.client();
  const store = new DynamoDbWindowStore(client, options.tableName);
  const clock = options.clock ?? systemClock;
  const onEvent = options.onEvent ?? ((line: string) => console.log(line));
  const eventBridge = options.eventBridgeEndpoint
    ? new EventBridgeClient({ endpoint: options.eventBridgeEndpoint })
    : undefined;
  const target: WindowEventBus = eventBridge
    ? eventBridgeWindowEvents(eventBridge, options.eventBusName ?? EVENT.defaultBusName)
    : { put: async (events) => events.map(() => true) };
  const bus: WindowEventBus = {
    put: async (events) => {
      const accepted = await target.put(events);
      events.forEach((event, at) => {
        if (accepted[at]) onEvent(windowEventLine(event, clock()), event);
      });
      return accepted;
    },
  };

  let running: Promise<SweepResult> | undefined;
  const sweepNow = () => {
    running ??= sweepClosingNotices(settings, { store, bus, clock }).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    sweepNow().catch((error: unknown) => {
      console.error(`[closing-notices] sweep failed: ${(error as Error).message}`);
    });
  }, options.intervalMs);
  timer.unref();
  return {
    sweepNow,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
      eventBridge?.destroy();
      client.destroy();
    },
  };
}
