/**
 * How long an export takes on Lambda at a memory size, from the figures measured here.
 *
 * Lambda allocates CPU in proportion to memory, one full vCPU at 1,769 MB ("Memory and computing
 * power", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so at memory M
 * the export's CPU work stretches by 1769 / M, capped at the cores the export can use (it is one
 * JavaScript thread plus libuv/GC helpers: `parallelism`, at least one core). It can never beat
 * the wire, and the fixed per-request work (Wavy call, manifest, presigned URL) stretches the same
 * way. Every prediction carries a 1.5× margin for Graviton cores against this machine's, real
 * network latency to S3 per part, and noisy neighbours.
 */
export const MB_PER_VCPU = 1769;
export const SAFETY = 1.5;
/** Wavy's CDN to Lambda, as issue 3 puts it; loopback here is faster. */
export const WIRE_MBPS = 100;
/** Memory must hold the measured peak RSS with this much to spare. */
export const RSS_HEADROOM = 1.5;
/** The synchronous path's budget (REQUEST_BUDGET_MS default) and an async worker's (Lambda's maximum). */
export const SYNC_BUDGET_S = 25;
export const WORKER_BUDGET_S = 15 * 60;
/** MAX_CSV_BYTES (5 GiB): no export takes more, whatever the time would allow. */
export const MAX_CSV_MB = (5 * 1024 ** 3) / 1e6;

export interface ModelInputs {
  /** Export CPU seconds (user + sys) per GB (1e9 bytes), as deployed. */
  cpuSecondsPerGb: number;
  /** CPU seconds per wall second the export kept busy here. */
  parallelism: number;
  /** CPU seconds of the smallest export here: the fixed per-request work, at one core. */
  fixedSeconds: number;
  peakRssMb: number;
}

export interface MemoryRow {
  memoryMb: number;
  vcpu: number;
  /** Cores the export can use at this size. */
  usable: number;
  /** Fixed work at this size, seconds. */
  fixedS: number;
  /** Wall seconds per MB of CSV at this size: CPU stretched, or the wire if slower. */
  secondsPerMb: number;
  /** Largest CSV (MB) predicted to finish, margin included, within each budget. */
  largestSyncMb: number;
  largestWorkerMb: number;
  holdsRss: boolean;
}

/** Lambda's sizes from 128 MB in 128 MB steps to 3008 MB (the range the table covers). */
export function memorySizes(): number[] {
  const sizes: number[] = [];
  for (let memoryMb = 128; memoryMb < 3008; memoryMb += 128) sizes.push(memoryMb);
  return [...sizes, 3008];
}

export function memoryRow(inputs: ModelInputs, memoryMb: number): MemoryRow {
  const vcpu = memoryMb / MB_PER_VCPU;
  const usable = Math.min(vcpu, Math.max(1, inputs.parallelism));
  const fixedS = inputs.fixedSeconds / Math.min(1, vcpu);
  const secondsPerMb = Math.max(inputs.cpuSecondsPerGb / 1000 / usable, 1 / WIRE_MBPS);
  const largest = (budgetS: number) => Math.max(0, (budgetS / SAFETY - fixedS) / secondsPerMb);
  return {
    memoryMb,
    vcpu,
    usable,
    fixedS,
    secondsPerMb,
    largestSyncMb: largest(SYNC_BUDGET_S),
    largestWorkerMb: largest(WORKER_BUDGET_S),
    holdsRss: memoryMb >= inputs.peakRssMb * RSS_HEADROOM,
  };
}

export function predictSeconds(row: MemoryRow, csvMb: number): number {
  return (row.fixedS + row.secondsPerMb * csvMb) * SAFETY;
}

export interface MemoryChoice {
  memoryMb: number;
  /** The CSV the rule must fit: a 5 M-row Wavy file. */
  csvMb: number;
  rows: MemoryRow[];
}

/**
 * The smallest memory size at which a 5 M-row (~170 MB) export is predicted to finish inside
 * the 25 s budget with the margin, and that holds the peak RSS with headroom.
 */
export function chooseMemory(inputs: ModelInputs, csvMb = 170): MemoryChoice {
  const rows = memorySizes().map((memoryMb) => memoryRow(inputs, memoryMb));
  const fits = rows.find((r) => r.holdsRss && predictSeconds(r, csvMb) <= SYNC_BUDGET_S);
  return { memoryMb: fits?.memoryMb ?? MB_PER_VCPU, csvMb, rows };
}
