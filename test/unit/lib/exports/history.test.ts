import { describe, expect, it } from "vitest";
import { Deadline } from "../../../../lambdas/lib/clock.js";
import type { ExportManifest } from "../../../../lambdas/lib/exports/export-document.js";
import { historyEntryKey, listHistory } from "../../../../lambdas/lib/exports/history.js";
import { MemoryExportStore } from "../../../support/memory-export-store.js";

const TARGET = { customerId: "42", subAccountId: null };

/** A store holding one history entry per time, named `e<index>`. */
async function historyOf(times: string[]): Promise<MemoryExportStore> {
  const store = new MemoryExportStore();
  for (const [index, createdAt] of times.entries()) {
    const manifest = { ...TARGET, exportId: `e${index}`, createdAt } as ExportManifest;
    await store.put(historyEntryKey(manifest), "", undefined);
  }
  return store;
}

const list = (store: MemoryExportStore, query: Record<string, unknown>) =>
  listHistory({ target: TARGET, limit: 10, ...query }, store, new Deadline(1_000).signal);

describe("the run history", () => {
  const TIMES = ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"];

  it("lists newest first within inclusive bounds, and pages with a cursor", async () => {
    const store = await historyOf(TIMES);

    const all = await list(store, {});
    const bounded = await list(store, {
      from: new Date(TIMES[0] ?? ""),
      to: new Date(TIMES[1] ?? ""),
    });
    const first = await list(store, { limit: 2 });
    const second = await list(store, { limit: 2, cursor: first.nextCursor });

    expect(all).toEqual({ exportIds: ["e2", "e1", "e0"], nextCursor: null });
    expect(bounded.exportIds).toEqual(["e1", "e0"]);
    expect(first.exportIds).toEqual(["e2", "e1"]);
    expect(second).toEqual({ exportIds: ["e0"], nextCursor: null });
  });

  it("refuses a cursor it did not answer", async () => {
    const store = await historyOf(TIMES);
    await expect(list(store, { cursor: "bm90LWEtY3Vyc29y" })).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });
});
