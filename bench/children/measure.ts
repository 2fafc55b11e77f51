import { readFileSync } from "node:fs";

/**
 * What each bench child reports: wall time and CPU (user + sys) of the measured work alone,
 * and the process's peak RSS (init included, as Lambda bills it).
 */
export interface ChildFigures {
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** RSS before the measured work began (bundle loaded). */
  rssBeforeMb: number;
  peakRssMb: number;
  /** Sampled every 50 ms: the largest V8 heap and ArrayBuffer (Buffer) totals seen. */
  peakHeapMb: number;
  peakArrayBuffersMb: number;
  /** When the measured work began, on the clock of `--cpu-prof`'s samples (µs): see profile.ts. */
  startedAtUs: number;
  detail: Record<string, unknown>;
}

export const RESULT_PREFIX = "BENCH_RESULT ";

/**
 * This process's peak RSS in MB: the kernel's VmHWM, not resourceUsage().maxRSS, which Linux
 * keeps across execve, so a child reports at least its parent's RSS at the fork: in a full
 * `npm run bench` the parent reached ~700 MB (the windows and notices benches run in it) and
 * every child, 1 MB export included, read 259 MB. Elsewhere maxRSS (in KiB).
 */
export function peakRssMb(): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return (Number(hwm[1]) * 1024) / 1e6;
  } catch {
    // Not Linux: no /proc.
  }
  return (process.resourceUsage().maxRSS * 1024) / 1e6;
}

export async function measure(work: () => Promise<Record<string, unknown>>): Promise<void> {
  const rssBeforeMb = process.memoryUsage.rss() / 1e6;
  let peakHeapMb = 0;
  let peakArrayBuffersMb = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakHeapMb = Math.max(peakHeapMb, usage.heapTotal / 1e6);
    peakArrayBuffersMb = Math.max(peakArrayBuffersMb, usage.arrayBuffers / 1e6);
  }, 50);
  const cpu = process.cpuUsage();
  const startedAtUs = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  const detail = await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  const figures: ChildFigures = {
    wallMs,
    cpuUserMs: used.user / 1000,
    cpuSystemMs: used.system / 1000,
    rssBeforeMb,
    peakRssMb: peakRssMb(),
    peakHeapMb,
    peakArrayBuffersMb,
    startedAtUs,
    detail,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
  // Keep-alive sockets would hold the process open; the figures are out.
  process.exit(0);
}
