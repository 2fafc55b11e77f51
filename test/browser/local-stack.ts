import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `npm start` as a child on free ports with its own data folder, as a user runs it. */
export interface StartedStack {
  apiUrl: string;
  /** The webhook routes' token (`WEBHOOK_TOKEN`, fixed here so the tests can post MOs). */
  webhookToken: string;
  output: () => string;
  stop: () => Promise<void>;
}

export async function startLocalStack(): Promise<StartedStack> {
  const webhookToken = `browser-test-${randomBytes(12).toString("hex")}`;
  const dataDir = await mkdtemp(join(tmpdir(), "wavy-console-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "local/start.ts"], {
    env: {
      ...process.env,
      PORT: "0",
      LOCAL_S3_PORT: "0",
      LOCAL_DATA_DIR: dataDir,
      // The page takes its own samples; the counter's printed lines are not what it shows.
      COUNT_INTERVAL_SECONDS: "3600",
      WEBHOOK_TOKEN: webhookToken,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Everything it prints, and how it ended: a failing test shows it (`output()`).
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  child.once("exit", (code, signal) => {
    output += `\n[npm start exited: code ${code}, signal ${signal}]\n`;
  });
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not come up:\n${output}`)),
      30_000,
    );
    const onData = () => {
      const match = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  return {
    apiUrl,
    webhookToken,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGINT");
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
