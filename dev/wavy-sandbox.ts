import { DateTime } from "luxon";
import { seededRandom } from "./seeded-random.js";
import { type CsvSource, WavySimulator } from "./wavy-simulator.js";

/** The sandbox's customers: who has how many open sessions. */
export const SANDBOX_TARGETS = [
  { customerId: "42", subAccountId: null, sessions: 240 },
  { customerId: "42", subAccountId: "7", sessions: 35 },
  { customerId: "1001", subAccountId: null, sessions: 1200 },
] as const;

export const SANDBOX_CREDENTIALS = {
  userName: "sandbox-user",
  authenticationToken: "sandbox-token",
};

/**
 * The Wavy simulator seeded with realistic sessions: Brazilian mobile numbers, opened over
 * the last 24 h in São Paulo local time (as Wavy writes them), generated afresh per request
 * so some are always about to close.
 */
export async function startWavySandbox(port = 0): Promise<WavySimulator> {
  const csvByTarget: Record<string, CsvSource> = {};
  for (const [index, target] of SANDBOX_TARGETS.entries()) {
    const key = target.subAccountId
      ? `${target.customerId}/${target.subAccountId}`
      : target.customerId;
    csvByTarget[key] = () => sessionsCsv(target.sessions, index + 1);
  }
  return new WavySimulator({ ...SANDBOX_CREDENTIALS, csvByTarget }).start(port);
}

function sessionsCsv(count: number, seed: number): string {
  const random = seededRandom(seed);
  const now = DateTime.now().setZone("America/Sao_Paulo");
  const areaCodes = [11, 21, 31, 41, 51, 61, 71, 81, 85, 92];
  const lines = ["source;session_created_at"];
  for (let i = 0; i < count; i++) {
    const area = areaCodes[Math.floor(random() * areaCodes.length)];
    const subscriber = String(Math.floor(random() * 1e8)).padStart(8, "0");
    const openedAt = now.minus({ seconds: Math.floor(random() * 24 * 3600) });
    lines.push(`55${area}9${subscriber};${openedAt.toFormat("yyyy-MM-dd HH:mm:ss")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The sandbox's business number: the `origin` of the MOs it posts. */
export const SANDBOX_ORIGIN = "5511999990000";

/** Wavy's MO callback body (../shared/WAVY.md, "Wavy's webhooks"), for the feed and the tests. */
export function moBulk(
  messages: readonly { id: string; source: string; origin?: string; receivedAt: number | string }[],
): string {
  return JSON.stringify({
    total: messages.length,
    data: messages.map(({ id, source, origin = SANDBOX_ORIGIN, receivedAt }) => ({
      id,
      source,
      origin,
      userProfile: { name: "Sandbox user" },
      campaignId: 100,
      correlationId: id,
      message: { type: "TEXT", messageText: "Oi, uma pergunta sobre o meu pedido" },
      receivedAt,
      receivedDate: new Date(Number(receivedAt)).toISOString(),
    })),
  });
}

/**
 * Wavy's MO webhook, simulated: every `intervalMs` a bulk of 1-5 inbound messages from the
 * sandbox's users (the same numbers the CSV shows), so windows open live on `npm start`.
 */
export function startMoFeed(
  webhookUrl: string,
  options: { intervalMs: number; onPosted?: (sources: string[], status: number) => void },
): { stop: () => void } {
  const random = seededRandom(20);
  let sequence = 0;
  const post = async () => {
    const count = 1 + Math.floor(random() * 5);
    const sources = Array.from({ length: count }, () => sandboxNumber(random));
    const body = moBulk(
      sources.map((source) => ({
        id: `sandbox-${Date.now()}-${sequence++}`,
        source,
        receivedAt: Date.now(),
      })),
    );
    try {
      const answer = await fetch(webhookUrl, { method: "POST", body });
      await answer.arrayBuffer();
      options.onPosted?.(sources, answer.status);
    } catch {
      // The API is stopping; the next tick (if any) tries again.
    }
  };
  const timer = setInterval(post, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Wavy's status callback body (../shared/WAVY.md), for the feed and the tests: one item per
 * send, `code` its sentStatusCode (210 INVALID_SESSION: the window was closed).
 */
export function statusBulk(
  sends: readonly { id: string; destination: string; code: number; sentAt: number }[],
): string {
  const statusOf = (code: number) =>
    code === 210 ? "INVALID_SESSION" : code === 104 ? "NOT_DELIVERED" : "SENT_SUCCESS";
  return JSON.stringify({
    total: sends.length,
    data: sends.map(({ id, destination, code, sentAt }) => ({
      id,
      correlationId: id,
      destination,
      origin: SANDBOX_ORIGIN,
      sentStatusCode: code,
      sentStatus: statusOf(code),
      sentAt,
      sentDate: new Date(sentAt).toISOString(),
    })),
    clientInfo: { customerId: 42 },
  });
}

/**
 * Wavy's status webhook, simulated (issue 21): every `intervalMs` a bulk of 1-3 callbacks for
 * the sandbox's users, about one in three a 210 (the send met a closed window), so
 * `Send Rejected Outside Window` shows on `npm start`.
 */
export function startStatusFeed(
  webhookUrl: string,
  options: { intervalMs: number; onPosted?: (status: number) => void },
): { stop: () => void } {
  const random = seededRandom(21);
  let sequence = 0;
  const post = async () => {
    const count = 1 + Math.floor(random() * 3);
    const body = statusBulk(
      Array.from({ length: count }, () => ({
        id: `sandbox-send-${Date.now()}-${sequence++}`,
        destination: sandboxNumber(random),
        code: random() < 0.34 ? 210 : 2,
        sentAt: Date.now() - 1_000,
      })),
    );
    try {
      const answer = await fetch(webhookUrl, { method: "POST", body });
      await answer.arrayBuffer();
      options.onPosted?.(answer.status);
    } catch {
      // The API is stopping; the next tick (if any) tries again.
    }
  };
  const timer = setInterval(post, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const AREA_CODES = [11, 21, 31, 41, 51, 61, 71, 81, 85, 92];

function sandboxNumber(random: () => number): string {
  const area = AREA_CODES[Math.floor(random() * AREA_CODES.length)];
  return `55${area}9${String(Math.floor(random() * 1e8)).padStart(8, "0")}`;
}
