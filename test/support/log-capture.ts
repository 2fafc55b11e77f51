import { format } from "node:util";
import { type MockInstance, vi } from "vitest";

/**
 * Captures everything the code under test prints: the console levels Powertools writes through
 * (POWERTOOLS_DEV=true, set in setup.ts) and raw writes to stdout and stderr, which a library
 * could use directly. Nothing is passed through, so a captured run stays quiet.
 */
export interface LogCapture {
  readonly lines: string[];
  /** Every captured line, joined; what a "never appears" assertion should search. */
  text(): string;
  restore(): void;
}

const LEVELS = ["log", "info", "warn", "error", "debug", "trace"] as const;

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const spies: MockInstance[] = [];
  for (const level of LEVELS) {
    spies.push(
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(format(...args));
      }),
    );
  }
  for (const stream of [process.stdout, process.stderr]) {
    spies.push(
      vi.spyOn(stream, "write").mockImplementation((chunk: unknown) => {
        lines.push(Buffer.isBuffer(chunk) ? chunk.toString() : String(chunk));
        return true;
      }),
    );
  }
  return {
    lines,
    text: () => lines.join("\n"),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
