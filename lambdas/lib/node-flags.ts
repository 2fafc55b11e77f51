/**
 * The NODE_OPTIONS flags that the process's own command line sets again, and so overrides: "A
 * singleton flag passed as a command-line option will override the same flag passed into
 * NODE_OPTIONS" (https://nodejs.org/api/cli.html#node_optionsoptions). Lambda's Node.js runtime
 * puts V8 heap flags on its command line unless NODE_OPTIONS already names them
 * (bench/lambda-runtime.ts quotes its bootstrap); a runtime without that check would undo
 * EXPORT_NODE_OPTIONS without a word, so the export function says so in its log.
 */
export function overriddenNodeOptions(nodeOptions: string, execArgv: readonly string[]): string[] {
  // V8 takes `_` and `-` alike in a flag's name.
  const name = (flag: string) => (flag.split("=")[0] ?? flag).replaceAll("_", "-");
  const ours = new Set(
    nodeOptions
      .split(/\s+/)
      .filter((flag) => flag.startsWith("--"))
      .map(name),
  );
  return execArgv.filter((flag) => flag.startsWith("--") && ours.has(name(flag)));
}
