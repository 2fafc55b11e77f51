import { type ChildProcess, execSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRepoFile, section } from "../support/markdown.js";
import { runNode } from "../support/run-node.js";

/** The README's quick start: `npm start` serves the API on loopback with its embedded parts. */
describe("npm start", () => {
  let child: ChildProcess;
  let apiUrl = "";
  let dataDir = "";
  let output = "";

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "wavy-start-"));
    child = spawn(process.execPath, ["--import", "tsx", "local/start.ts"], {
      env: {
        ...process.env,
        PORT: "0",
        LOCAL_S3_PORT: "0",
        LOCAL_DATA_DIR: dataDir,
        COUNT_INTERVAL_SECONDS: "3600",
        WEBHOOK_TOKEN: "local-start-test-token",
        // Issue 21: the status feed and the sweeper at once a second, so their events show soon.
        STATUS_INTERVAL_SECONDS: "1",
        CLOSING_NOTICE_INTERVAL_SECONDS: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    apiUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`npm start did not come up:\n${output}`)),
        20_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it("exports the sandbox's sessions and serves the copy through the download URL", async () => {
    const answer = await fetch(`${apiUrl}/exports`, {
      method: "POST",
      body: '{"customerId":"42"}',
    });
    const document = (await answer.json()) as { rows: number; bytes: number; downloadUrl: string };

    expect(answer.status).toBe(201);
    expect(document.rows).toBe(240);
    const csv = Buffer.from(await (await fetch(document.downloadUrl)).arrayBuffer());
    expect(csv.length).toBe(document.bytes);
    expect(csv.toString().split("\n")[0]).toBe("source;session_created_at");
  });

  it("builds the export's companion in the background and says so in the document", async () => {
    const answer = await fetch(`${apiUrl}/exports`, {
      method: "POST",
      body: '{"customerId":"42"}',
    });
    const document = (await answer.json()) as {
      exportId: string;
      companion: { status: string; key: string };
    };
    expect(document.companion.status).toBe("pending");
    const until = Date.now() + 10_000;
    while (!output.includes(`[companion] ${document.companion.key}`) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toContain(`[companion] ${document.companion.key}: 240 rows`);
    const read = (await (await fetch(`${apiUrl}/exports/${document.exportId}`)).json()) as {
      companion: { status: string };
    };
    expect(read.companion.status).toBe("ready");
  });

  it("answers GET /sessions/closing with the sandbox's destinations closing soonest first", async () => {
    const answer = await fetch(`${apiUrl}/sessions/closing?customerId=42&withinMinutes=1440`);
    const document = (await answer.json()) as {
      rows: number;
      closing: { count: number; downloadUrl: string };
    };

    expect(answer.status).toBe(200);
    // The sandbox opens its sessions over the last 24 h: all of them close within a day.
    expect(document.closing.count).toBeGreaterThan(0);
    expect(document.closing.count).toBeLessThanOrEqual(document.rows);
    const lines = (await (await fetch(document.closing.downloadUrl)).text()).trim().split("\n");
    expect(lines[0]).toBe("source;closes_at");
    expect(lines).toHaveLength(document.closing.count + 1);
    const closesAt = lines.slice(1).map((line) => line.split(";")[1] ?? "");
    expect(closesAt).toEqual([...closesAt].sort());
  });

  it("runs the counter for the sandbox's customers and prints a line per target", async () => {
    const deadline = Date.now() + 15_000;
    while (!/customer 1001 \/ all: 1200 open/.test(output) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(output).toMatch(/customer 42 \/ all: 240 open, \d+ closing within 1 h, \d+ within 4 h/);
    expect(output).toMatch(/customer 42 \/ 7: 35 open/);
    expect(output).toMatch(/customer 1001 \/ all: 1200 open/);
  });

  it("prints window events (masked) and the counter's reconciliation (issue 21)", async () => {
    const event =
      /\[event \d\d:\d\d:\d\dZ\] wavy-sessions "(Window Closing|Send Rejected Outside Window)" (\*+\d{4}) via/;
    const deadline = Date.now() + 20_000;
    while (
      !(event.test(output) && /Send Rejected Outside Window/.test(output)) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(output).toMatch(event);
    expect(output).toMatch(/"Send Rejected Outside Window" \*+\d{4} via 5511999990000: code 210/);
    expect(output).toMatch(/"Window Closing" \*+\d{4} via 5511999990000: closes .* min left/);
    expect(output).toMatch(
      /customer 42 \/ all: reconciled: origin \*+0000: \d+ only in the CSV \(\d+ added as snapshot\)/,
    );
    expect(output).not.toMatch(/undefined: /);
  });

  it("runs an asynchronous export in the background and prints its completion event", async () => {
    const accepted = await fetch(`${apiUrl}/exports`, {
      method: "POST",
      headers: { Prefer: "respond-async" },
      body: '{"customerId":"1001"}',
    });
    const location = accepted.headers.get("location") ?? "";
    const running = (await accepted.json()) as { exportId: string; status: string };
    expect(accepted.status).toBe(202);
    expect(running.status).toBe("running");
    expect(location).toBe(`/exports/${running.exportId}`);

    let document = { status: "running" } as { status: string; rows?: number; downloadUrl?: string };
    for (let tries = 0; document.status === "running" && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      document = (await (await fetch(`${apiUrl}${location}`)).json()) as typeof document;
    }

    expect(document).toMatchObject({ status: "succeeded", rows: 1200 });
    const csv = await (await fetch(String(document.downloadUrl))).text();
    expect(csv.trimEnd().split("\n")).toHaveLength(1201);
    const until = Date.now() + 5_000;
    while (!output.includes(running.exportId) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toContain(`wavy-sessions "Export Succeeded" ${running.exportId}: 1200 rows`);
  });

  it("opens a window after a curl to the webhook, as the README shows", async () => {
    expect(output).toContain("/hooks/wavy/local-start-test-token/mo");
    const user = "5511987650000";

    const posted = await fetch(`${apiUrl}/hooks/wavy/local-start-test-token/mo`, {
      method: "POST",
      body: JSON.stringify({
        total: 1,
        data: [{ id: "readme", source: user, origin: "5511999990000", receivedAt: Date.now() }],
      }),
    });
    expect(posted.status).toBe(200);

    let windows: { open: boolean; minutesLeft: number }[] = [];
    for (let tries = 0; windows.length === 0 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      windows = (
        (await (await fetch(`${apiUrl}/windows/${user}`)).json()) as { windows: typeof windows }
      ).windows;
    }
    expect(windows).toEqual([expect.objectContaining({ open: true, minutesLeft: 1440 })]);
    expect(output).not.toContain(user);
  });

  it("prints one short line per request, a 404 too, with the token and numbers masked", async () => {
    expect((await fetch(`${apiUrl}/no-such-route`)).status).toBe(404);
    const until = Date.now() + 5_000;
    while (!/GET \/no-such-route 404/.test(output) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toMatch(/^\[http \d\d:\d\d:\d\dZ\] GET \/no-such-route 404 \d+ ms$/m);
    expect(output).toMatch(/^\[http [^\]]+\] POST \/exports 201 \d+ ms$/m);
    // The webhook test above posted with the token and looked a number up.
    expect(output).toMatch(/^\[http [^\]]+\] POST \/hooks\/wavy\/<token>\/mo 200 \d+ ms$/m);
    expect(output).toMatch(/^\[http [^\]]+\] GET \/windows\/\*+\d{4} 200 \d+ ms$/m);
    expect(output).not.toMatch(/^\[http .*local-start-test-token/m);
  });

  it("answers 2xx to every curl the banner suggests, run as printed (issue 22: docs that stay true)", () => {
    const lines = output
      .split("\n")
      .filter((line) => /^\s+curl /.test(line) && !line.includes("<"));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const line of lines) {
      // As a user pastes it (one line uses $(date …)), with only the status code kept.
      const status = execSync(`${line.trim()} -o /dev/null -w '%{http_code}'`, {
        shell: "/bin/bash",
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(status.slice(-3), line).toMatch(/^2\d\d$/);
    }
  });

  it("answers 2xx to every curl of the README's quick start, run as written (issue 22)", () => {
    const quickStart = section(readRepoFile("README.md"), "Quick start");
    // The README starts npm start with a token of its own; this one runs with the test's.
    const readmeToken = /WEBHOOK_TOKEN=(\S+) npm start/.exec(quickStart)?.[1] ?? "";
    expect(readmeToken).not.toBe("");
    const curls = [...quickStart.matchAll(/^curl (?:[^\n]*\\\n)*[^\n]*$/gm)].map((match) =>
      match[0]
        .replaceAll("localhost:3000", new URL(apiUrl).host)
        .replaceAll(readmeToken, "local-start-test-token")
        // A trailing comment would swallow the flags added below.
        .replace(/\s{2,}# .*$/, ""),
    );
    expect(curls.length).toBeGreaterThanOrEqual(3);
    for (const command of curls) {
      const status = execSync(`${command} -o /dev/null -w '%{http_code}'`, {
        shell: "/bin/bash",
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(status.slice(-3), command).toMatch(/^2\d\d$/);
    }
  });

  it("stops cleanly on Ctrl-C", async () => {
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );

    child.kill("SIGINT");

    expect(await exited).toBe(0);
    expect(output).toContain("Stopping");
  });
});

/** Runs `npm start` with `env` until it exits (or `timeoutMs`, then kills it: code null). */
async function runStart(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "wavy-start-"));
  const result = await runNode(
    ["--import", "tsx", "local/start.ts"],
    { ...process.env, PORT: "0", LOCAL_S3_PORT: "0", LOCAL_DATA_DIR: dataDir, ...env },
    timeoutMs,
  );
  await rm(dataDir, { recursive: true, force: true });
  return result;
}

/** A stack trace's frame lines: what a user must not get for a setting they can fix. */
const STACK_FRAME = /^\s+at /m;

describe("npm start with a setting it cannot use", () => {
  it("stops at once on a COUNT_INTERVAL_SECONDS that is not a number, naming it", async () => {
    const { code, output } = await runStart({ COUNT_INTERVAL_SECONDS: "abc" });

    expect(code).toBe(1);
    expect(output).toContain(
      'COUNT_INTERVAL_SECONDS must be a whole number from 1 to 86400 (got "abc")',
    );
    expect(output).not.toMatch(STACK_FRAME);
    expect(output).not.toContain("[count");
  });

  it.each(["PORT", "LOCAL_S3_PORT"])("names %s when its port is busy", async (variable) => {
    const holder = createServer().listen(0, "127.0.0.1");
    await once(holder, "listening");
    const port = (holder.address() as { port: number }).port;
    try {
      const { code, output } = await runStart({ [variable]: String(port) });

      expect(code).toBe(1);
      expect(output).toContain(`Port ${port} is already in use`);
      expect(output).toContain(`choose another port with ${variable}`);
      expect(output).not.toMatch(STACK_FRAME);
    } finally {
      holder.close();
    }
  });
});
