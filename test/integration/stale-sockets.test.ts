import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WavySimulator } from "../../dev/wavy-simulator.js";
import { type Harness, sha256, startHarness } from "../support/export-harness.js";

/**
 * Issue 11, item 4: when the CSV host (or a middlebox) has dropped a pooled keep-alive
 * connection, the next download's GET on it fails before any response. It is sent again, once,
 * on a fresh connection, instead of answering 502.
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

/** Serves the CSV on a fresh connection; on a reused one, drops it as a middlebox would. */
function dropReusedConnections(
  req: IncomingMessage,
  res: ServerResponse,
  sim: WavySimulator,
): void {
  if (sim.requests.at(-1)?.reusedConnection) {
    req.socket.destroy();
    return;
  }
  res.writeHead(200, { "content-type": "text/csv" }).end(CSV);
}

describe("a pooled connection to the CSV host that was dropped", () => {
  let h: Harness;

  // A fresh harness each time: its download agents start with no pooled connection.
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  /** One export whose download leaves a connection to the CSV host in the pool. */
  async function poolAConnection(): Promise<void> {
    h.wavy.linkTo(h.wavy.serveFile((_req, res) => res.writeHead(200).end(CSV)));
    expect((await h.call("POST", "/exports", { customerId: "42" })).status).toBe(201);
    h.wavy.requests.length = 0;
  }

  it("is retried once on a fresh connection, and the export succeeds", async () => {
    await poolAConnection();
    h.wavy.linkTo(h.wavy.serveFile(dropReusedConnections));

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(201);
    expect(json.sha256).toBe(sha256(CSV));
    expect(h.wavy.fileCalls().map((call) => call.reusedConnection)).toEqual([true, false]);
  });

  it("is retried only once: a host that drops every connection still answers 502", async () => {
    await poolAConnection();
    h.wavy.linkTo(h.wavy.serveFile((req) => req.socket.destroy()));

    const { status, json } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(json).toMatchObject({ error: { code: "UPSTREAM_ERROR" } });
    expect(h.wavy.fileCalls().map((call) => call.reusedConnection)).toEqual([true, false]);
  });

  it("is not retried when the connection was fresh", async () => {
    h.wavy.linkTo(h.wavy.serveFile((req) => req.socket.destroy()));

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(status).toBe(502);
    expect(h.wavy.fileCalls().map((call) => call.reusedConnection)).toEqual([false]);
  });
});
