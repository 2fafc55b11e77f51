import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNode } from "../support/run-node.js";

/**
 * `npm run call` (scripts/call.ts) against a loopback stand-in for the deployed API: what it
 * sends (path, headers, SigV4 signature) is recorded, and it answers 201.
 */

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

async function runCall(args: string[]): Promise<{ code: number | null; output: string }> {
  return runNode(["--import", "tsx", "scripts/call.ts", ...args], {
    ...process.env,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_PROFILE: "",
  });
}

describe("npm run call", () => {
  let server: Server;
  let base = "";
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      res.writeHead(201, { "content-type": "application/json" }).end('{"exportId":"x"}');
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends -H headers, signed, and keeps the stage in front of a path without a slash", async () => {
    seen.length = 0;
    const { code, output } = await runCall([
      "--url",
      base,
      "--region",
      "sa-east-1",
      "-H",
      "Idempotency-Key: nightly-42",
      "POST",
      "exports",
      '{"customerId":"42"}',
    ]);

    expect(code, output).toBe(0);
    expect(output).toContain("HTTP 201");
    expect(seen).toHaveLength(1);
    const [request] = seen as [Seen];
    expect(request).toMatchObject({ method: "POST", path: "/prod/exports" });
    expect(request.body).toBe('{"customerId":"42"}');
    expect(request.headers["idempotency-key"]).toBe("nightly-42");
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization));
    expect(signedHeaders?.[1]?.split(";")).toContain("idempotency-key");
    expect(String(request.headers.authorization)).toContain("/sa-east-1/execute-api/aws4_request");
  });

  it("builds /prod/exports/x from a path written without its leading slash", async () => {
    seen.length = 0;
    const { code } = await runCall(["--url", base, "--region", "us-east-1", "GET", "exports/x"]);

    expect(code).toBe(0);
    expect(seen.map((request) => request.path)).toEqual(["/prod/exports/x"]);
  });

  it.each([
    ["a header without a colon", ["-H", "Idempotency-Key nightly"], /-H takes 'Name: value'/],
    ["a header the signature sets", ["-H", "Authorization: x"], /cannot set authorization/],
  ])("refuses %s without sending anything", async (_name, options, message) => {
    seen.length = 0;
    const { code, output } = await runCall(["--url", base, ...options, "GET", "/exports/x"]);

    expect(code).toBe(2);
    expect(output).toMatch(message);
    expect(seen).toHaveLength(0);
  });
});
