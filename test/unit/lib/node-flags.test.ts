import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { EXPORT_NODE_OPTIONS } from "../../../lambdas/lib/contract.js";
import { overriddenNodeOptions } from "../../../lambdas/lib/node-flags.js";

/** What a fresh Node reports of itself: its command-line flags and V8's heap limit. */
function nodeStartedWith(nodeOptions: string, args: string[]) {
  const script =
    "console.log(JSON.stringify({ execArgv: process.execArgv, " +
    "limit: require('node:v8').getHeapStatistics().heap_size_limit }))";
  const out = execFileSync(process.execPath, [...args, "-e", script], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions },
    encoding: "utf8",
  });
  return JSON.parse(out) as { execArgv: string[]; limit: number };
}

describe("overriddenNodeOptions", () => {
  it("names the heap flag that Node took from the command line instead of NODE_OPTIONS", () => {
    // The premise, checked on the Node the suite runs on (the function's major): the command
    // line's semi-space wins, which shows in V8's heap limit (three semi-spaces of young gen).
    const alone = nodeStartedWith(EXPORT_NODE_OPTIONS, []);
    const runtimeArgs = ["--expose-gc", "--max-http-header-size", "81920"];
    const overriding = nodeStartedWith(EXPORT_NODE_OPTIONS, [
      ...runtimeArgs,
      "--max-semi-space-size=25",
    ]);
    expect(overriding.limit - alone.limit).toBeGreaterThanOrEqual(3 * 24 * 1024 * 1024);

    expect(overriddenNodeOptions(EXPORT_NODE_OPTIONS, overriding.execArgv)).toEqual([
      "--max-semi-space-size=25",
    ]);
    expect(overriddenNodeOptions(EXPORT_NODE_OPTIONS, alone.execArgv)).toEqual([]);
    expect(
      overriddenNodeOptions(EXPORT_NODE_OPTIONS, [...runtimeArgs, "--max-old-space-size=461"]),
    ).toEqual([]);
  });

  it("treats _ and - in a V8 flag's name alike", () => {
    expect(
      overriddenNodeOptions("--max-semi-space-size=1 --no-warnings", ["--max_semi_space_size=25"]),
    ).toEqual(["--max_semi_space_size=25"]);
    expect(overriddenNodeOptions("", ["--max-semi-space-size=25"])).toEqual([]);
  });
});
