import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * vitest globalSetup: one fresh directory per run for the AWS calls the suites record
 * (aws-call-recorder.ts). Set before the workers start, so every one of them inherits it; kept
 * if already set, so a project that runs this again joins the same run.
 */
export default function setup(): () => void {
  if (process.env.WAVY_AWS_CALL_LOG) return () => {};
  const directory = mkdtempSync(join(tmpdir(), "wavy-aws-calls-"));
  process.env.WAVY_AWS_CALL_LOG = directory;
  return () => {
    rmSync(directory, { recursive: true, force: true });
    delete process.env.WAVY_AWS_CALL_LOG;
  };
}
