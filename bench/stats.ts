/** Small helpers shared by the bench: medians, formatting, the machine. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const MB = 1_000_000;

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  date: string;
  /** 1, 5 and 15 minute load averages when the run began: the machine is shared. */
  loadAverage: number[];
}

export function describeMachine(): Machine {
  let cpus = availableParallelism();
  try {
    cpus = Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || cpus;
  } catch {
    // nproc is coreutils; availableParallelism says the same on Linux.
  }
  let cpuModel = "unknown";
  try {
    cpuModel =
      /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ??
      cpuModel;
  } catch {
    // not Linux
  }
  return {
    cpus,
    cpuModel,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
  };
}
