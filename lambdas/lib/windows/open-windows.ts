import type { WindowStore } from "./window-store.js";

/**
 * The counter's OpenWindows (docs/contract.md, "Live windows", "Open windows"): per business
 * number, the windows closing after now, counted by the index; and their sum for the target.
 */
export async function countOpenWindows(
  origins: readonly string[],
  deps: { store: WindowStore; nowMs: () => number },
): Promise<{ byOrigin: Record<string, number>; total: number }> {
  const now = new Date(deps.nowMs()).toISOString();
  const byOrigin: Record<string, number> = {};
  for (const origin of new Set(origins)) {
    byOrigin[origin] = await deps.store.countClosingAfter(origin, now);
  }
  const total = Object.values(byOrigin).reduce((sum, count) => sum + count, 0);
  return { byOrigin, total };
}
