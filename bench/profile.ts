import { readFileSync } from "node:fs";

/** Where a CPU profile (`node --cpu-prof`) of the export child spends its time. */
export interface ProfileSummary {
  totalMs: number;
  /** Self time by function (name, module, line). */
  functions: { name: string; module: string; selfMs: number; share: number }[];
  /** Self time by source module of the bundle (esbuild's `// path` comments). */
  modules: { module: string; selfMs: number; share: number }[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function and per bundled module. The bundle is built unminified for this, so
 * esbuild leaves a `// node_modules/...` or `// lambdas/...` comment where each module starts;
 * a line number maps back to the module that holds it. Given `fromUs` (the child's
 * `startedAtUs`: V8 stamps samples on the same monotonic clock as process.hrtime), only the
 * samples from then on count, so the profile covers what the CPU figure covers: the request,
 * not the bundle's import.
 */
export function summarizeProfile(
  profilePath: string,
  bundlePath: string,
  top = 15,
  fromUs = 0,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile;
  const moduleStarts: { line: number; module: string }[] = [];
  readFileSync(bundlePath, "utf8")
    .split("\n")
    .forEach((text, line) => {
      const match = /^\/\/ ((?:node_modules|lambdas|bench)\/\S+)$/.exec(text);
      if (match?.[1]) moduleStarts.push({ line, module: shortModule(match[1]) });
    });
  const moduleAt = (url: string, line: number): string => {
    if (!url) return "(native / V8)";
    if (!url.endsWith(".mjs")) return url.startsWith("node:") ? url : `node:${url}`;
    let low = 0;
    let high = moduleStarts.length - 1;
    let found = "(bundle)";
    while (low <= high) {
      const mid = (low + high) >> 1;
      const start = moduleStarts[mid] as { line: number; module: string };
      if (start.line <= line) {
        found = start.module;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  };

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at >= fromUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, { name: string; module: string; selfMs: number }>();
  const modules = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    totalUs += us;
    const module = moduleAt(frame.url, frame.lineNumber);
    const name = frame.functionName || "(anonymous)";
    const key = `${name}|${module}|${frame.lineNumber}`;
    const entry = functions.get(key) ?? { name, module, selfMs: 0 };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
    modules.set(module, (modules.get(module) ?? 0) + us / 1000);
  }
  const totalMs = totalUs / 1000;
  return {
    totalMs,
    functions: [...functions.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, share: f.selfMs / totalMs })),
    modules: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, selfMs]) => ({ module, selfMs, share: selfMs / totalMs })),
  };
}

function shortModule(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (pkg) return `${pkg[1]}/${(pkg[2] ?? "").replace(/^(dist-es|dist-cjs|dist|lib)\//, "")}`;
  return path;
}
