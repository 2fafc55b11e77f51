import { spawn } from "node:child_process";
import { once } from "node:events";

/**
 * Runs `node ARGS` with `env` until it exits, stdout and stderr gathered as one text; after
 * `timeoutMs` (if given) it is killed and `code` is null.
 */
export async function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs?: number,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const gather = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", gather);
  child.stderr?.on("data", gather);
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, output };
}
