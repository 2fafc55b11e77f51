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
    // maxRSS is in KiB.
    peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    peakHeapMb,
    peakArrayBuffersMb,
    startedAtUs,
    detail,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
  // Keep-alive sockets would hold the process open; the figures are out.
  process.exit(0);
}
