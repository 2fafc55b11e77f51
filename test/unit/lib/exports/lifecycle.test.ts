import { afterEach, describe, expect, it, vi } from "vitest";
import { Deadline } from "../../../../lambdas/lib/clock.js";
import { UpstreamError } from "../../../../lambdas/lib/errors.js";
import { manifestKey } from "../../../../lambdas/lib/exports/export-document.js";
import { readExport } from "../../../../lambdas/lib/exports/exports.js";
import {
  type Copy,
  RUNNING_PREFIX,
  SWEEP_LIMIT,
  sweep,
} from "../../../../lambdas/lib/exports/lifecycle.js";
import {
  acceptExport,
  runAcceptedExport,
  runInline,
} from "../../../../lambdas/lib/exports/runs.js";
import { historyPrefix } from "../../../../lambdas/lib/layout.js";
import { logger } from "../../../../lambdas/lib/logger.js";
import { memoryContext } from "../../../support/memory-export-store.js";

const TARGET = { customerId: "42", subAccountId: null };
const FIGURES = { rows: 1, bytes: 10, sha256: "a".repeat(64), sessionsKey: null };

/** A copy that "commits" the CSV into the memory store, or fails with `failure`. */
function copy(world: ReturnType<typeof memoryContext>, failure?: Error): Copy {
  return async (manifest) => {
    if (failure) throw failure;
    await world.store.put(manifest.key, "csv", undefined);
    return { figures: FIGURES, committed: [manifest.key] };
  };
}

const inline = (world: ReturnType<typeof memoryContext>, exportId: string, failure?: Error) =>
  runInline(
    TARGET,
    {
      exportId,
      trigger: "request",
      runMs: 5_500,
      deadline: new Deadline(5_000),
      copy: copy(world, failure),
    },
    world.ctx,
  );

describe("the export lifecycle", () => {
  it("records running, commits the CSV, then finishes succeeded; the reader needs nothing else", async () => {
    const world = memoryContext();
    const order: string[] = [];
    const put = world.store.put.bind(world.store);
    world.store.put = async (key, text, condition) => {
      order.push(`${key.split("/")[0]}${text.includes('"running"') ? ":running" : ""}`);
      return put(key, text, condition);
    };

    const ended = await inline(world, "sync-1");

    expect(ended).toMatchObject({ status: "succeeded", rows: 1 });
    expect(order).toEqual(["history", "manifests", "manifests:running", "exports", "manifests"]);
    expect(world.store.keys(RUNNING_PREFIX)).toEqual([]);
    expect(world.events.map((e) => e.status)).toEqual(["succeeded"]);
    const document = await readExport("sync-1", world.ctx, new Deadline(1_000).signal);
    expect(document).toMatchObject({ status: "succeeded", downloadUrl: expect.any(String) });
  });

  it("stores nothing of a synchronous export that failed, and announces the failure", async () => {
    const world = memoryContext();

    await expect(inline(world, "sync-2", new UpstreamError("Wavy answered 500"))).rejects.toThrow(
      UpstreamError,
    );

    expect(world.store.keys()).toEqual([]);
    expect(world.events).toMatchObject([{ status: "failed", error: { code: "UPSTREAM_ERROR" } }]);
  });

  it("leaves nothing and announces a failure when the worker cannot be launched", async () => {
    const world = memoryContext();
    const launch = acceptExport(
      TARGET,
      {
        exportId: "async-1",
        runMs: 900_000,
        deadline: new Deadline(1_000),
        launchWorker: async () => {
          throw new Error("Lambda said no");
        },
      },
      world.ctx,
    );

    await expect(launch).rejects.toMatchObject({ code: "INTERNAL" });
    expect(world.store.keys()).toEqual([]);
    expect(world.events).toMatchObject([{ exportId: "async-1", status: "failed" }]);
  });

  it("runs an accepted export once: a second delivery finds it claimed", async () => {
    const world = memoryContext();
    const deadline = new Deadline(1_000);
    await acceptExport(
      TARGET,
      { exportId: "async-2", runMs: 900_000, deadline, launchWorker: async () => {} },
      world.ctx,
    );
    const run = { remainingMs: 900_000, copy: copy(world) };

    const first = await runAcceptedExport("async-2", run, world.ctx);
    const second = await runAcceptedExport("async-2", run, world.ctx);

    expect(first).toMatchObject({ status: "succeeded" });
    expect(second).toBeUndefined();
    expect(world.events).toHaveLength(1);
  });
});

describe("settling", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function deadRun(world: ReturnType<typeof memoryContext>, exportId: string) {
    await acceptExport(
      TARGET,
      {
        exportId,
        runMs: 60_000,
        deadline: new Deadline(1_000),
        launchWorker: async () => {},
      },
      world.ctx,
    );
  }

  it("reads a running export as running until its deadline, then settles it failed once", async () => {
    const world = memoryContext();
    await deadRun(world, "dead-1");
    const signal = new Deadline(1_000).signal;

    expect(await readExport("dead-1", world.ctx, signal)).toMatchObject({ status: "running" });
    world.advance(60_000);
    const [a, b] = await Promise.all([
      readExport("dead-1", world.ctx, signal),
      readExport("dead-1", world.ctx, signal),
    ]);

    expect(a).toMatchObject({ status: "failed", error: { code: "UPSTREAM_TIMEOUT" } });
    expect(b).toMatchObject({ status: "failed" });
    expect(world.events.filter((e) => e.status === "failed")).toHaveLength(1);
    expect(world.store.aborted).toContain(
      `exports/customerId=42/subAccountId=all/date=2026-12-06/dead-1.csv`,
    );
    expect(world.store.keys(RUNNING_PREFIX)).toEqual([]);
    expect(world.store.keys(historyPrefix(TARGET))).toHaveLength(1);
  });

  it("warns when it settles a dead run; a run's own end is info", async () => {
    const warn = vi.spyOn(logger, "warn");
    const world = memoryContext();
    await inline(world, "alive-1");
    expect(warn).not.toHaveBeenCalled();
    await deadRun(world, "dead-2");
    world.advance(60_000);
    await readExport("dead-2", world.ctx, new Deadline(1_000).signal);
    expect(warn).toHaveBeenCalledWith("Settled an export whose run died", {
      exportId: "dead-2",
      status: "failed",
    });
  });

  it("lets a late worker lose to the settler and take back what it committed", async () => {
    const world = memoryContext();
    await deadRun(world, "late-1");
    let settleMidCopy: (() => Promise<unknown>) | undefined;
    const late: Copy = async (manifest) => {
      await world.store.put(manifest.key, "csv", undefined);
      world.advance(60_000);
      await settleMidCopy?.();
      return { figures: FIGURES, committed: [manifest.key] };
    };
    settleMidCopy = () => readExport("late-1", world.ctx, new Deadline(1_000).signal);

    const ended = await runAcceptedExport(
      "late-1",
      { remainingMs: 900_000, copy: late },
      world.ctx,
    );

    expect(ended).toMatchObject({ status: "failed" });
    expect(world.store.keys("exports/")).toEqual([]);
    expect(world.events.map((e) => e.status)).toEqual(["failed"]);
  });

  it("sweeps the overdue exports without a reader, at most SWEEP_LIMIT a run, and resumes", async () => {
    const world = memoryContext();
    for (let i = 0; i < SWEEP_LIMIT + 2; i++) await deadRun(world, `swept-${i}`);
    await deadRun(world, "in-time");
    world.advance(60_000);
    // Created later: still in time when the sweep runs.
    await deadRun(world, "later");

    const first = await sweep(world.ctx, new Deadline(1_000).signal);
    const second = await sweep(world.ctx, new Deadline(1_000).signal);

    expect(first).toEqual({ settled: SWEEP_LIMIT, remaining: true });
    expect(second).toEqual({ settled: 3, remaining: false });
    expect(world.events).toHaveLength(SWEEP_LIMIT + 3);
    const later = JSON.parse(world.store.objects.get(manifestKey("later"))?.text ?? "{}");
    expect(later.status).toBe("running");
    expect(world.store.keys(RUNNING_PREFIX)).toHaveLength(1);
  });

  it("removes a running-index entry whose manifest is gone", async () => {
    const world = memoryContext();
    await deadRun(world, "gone-1");
    world.store.objects.delete(manifestKey("gone-1"));
    world.advance(60_000);

    expect(await sweep(world.ctx, new Deadline(1_000).signal)).toEqual({
      settled: 0,
      remaining: false,
    });
    expect(world.store.keys(RUNNING_PREFIX)).toEqual([]);
  });
});

describe("the manifest trust rule", () => {
  it("answers 500 for a manifest naming another object, whatever its status", async () => {
    const world = memoryContext();
    await inline(world, "trusted-1");
    const stored = world.store.objects.get(manifestKey("trusted-1"));
    const manifest = { ...JSON.parse(stored?.text ?? "{}"), key: "idempotency/x.json" };
    await world.store.put(manifestKey("trusted-1"), JSON.stringify(manifest), undefined);

    await expect(
      readExport("trusted-1", world.ctx, new Deadline(1_000).signal),
    ).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
