import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

/**
 * moto's server (an independent AWS emulator: S3, SQS, CloudWatch, CloudFormation, IAM...) on a
 * free loopback port, for the checks that need a second AWS implementation. It is a Python
 * tool, installed apart from npm (`pip install "moto[server]"`), so only the suites run by their
 * own npm scripts use it; `npm test` never does.
 */
export class MotoServer {
  endpoint = "";
  private child: ChildProcess | undefined;

  constructor(private readonly command = process.env.MOTO_SERVER ?? "moto_server") {}

  async start(timeoutMs = 30_000): Promise<this> {
    const port = await freePort();
    const child = spawn(this.command, ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4_000);
    });
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) =>
        reject(
          new Error(`Cannot run ${this.command} (pip install "moto[server]"): ${error.message}`),
        ),
      );
      child.once("exit", (code) =>
        reject(new Error(`${this.command} exited with ${code} before it was ready:\n${stderr}`)),
      );
    });
    this.endpoint = `http://127.0.0.1:${port}`;
    await Promise.race([this.waitUntilReady(timeoutMs), failed]);
    return this;
  }

  /** Forgets every resource, so one test's queues and alarms never leak into the next. */
  async reset(): Promise<void> {
    const response = await fetch(`${this.endpoint}/moto-api/reset`, { method: "POST" });
    if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.endpoint}/moto-api/data.json`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.command} did not answer within ${timeoutMs} ms`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
