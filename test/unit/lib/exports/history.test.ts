import { describe, expect, it } from "vitest";
import { Deadline } from "../../../../lambdas/lib/clock.js";
import {
  type ExportManifest,
  historyEntryKey,
} from "../../../../lambdas/lib/exports/export-document.js";
import { listHistory } from "../../../../lambdas/lib/exports/history.js";
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

describe("the run history's bounds", () => {
  const TIMES = ["1969-07-20T20:17:00Z", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"];
  // 1969 is not stored (13 digits start at 1970), so only the two others can be listed.
  const STORED = ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"];

  it("keeps its order with a from before 1970", async () => {
    const store = await historyOf(STORED);
    const page = await list(store, { from: new Date("1900-01-01T00:00:00Z") });
    expect(page.exportIds).toEqual(["e1", "e0"]);
  });

  it("lists nothing with a to before 1970", async () => {
    const store = await historyOf(STORED);
    const page = await list(store, { to: new Date(TIMES[0] ?? "") });
    expect(page).toEqual({ exportIds: [], nextCursor: null });
  });

  it("pages within to with its own cursor (control)", async () => {
    const store = await historyOf([...STORED, "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"]);
    const to = new Date("2026-12-03T00:00:00Z");
    const first = await list(store, { to, limit: 1 });
    const second = await list(store, { to, limit: 1, cursor: first.nextCursor });

    expect(first.exportIds).toEqual(["e2"]);
    expect(second.exportIds).toEqual(["e1"]);
  });

  it("refuses a cursor from another query with a clear 400", async () => {
    const store = await historyOf([...STORED, "2026-12-03T00:00:00Z"]);
    const first = await list(store, { limit: 1 });

    await expect(
      list(store, { limit: 1, to: new Date(STORED[0] ?? ""), cursor: first.nextCursor }),
    ).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      message: expect.stringContaining("another query"),
    });
  });
});
