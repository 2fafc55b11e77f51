import { describe, expect, it } from "vitest";
import { Deadline } from "../../../../lambdas/lib/clock.js";
import { UpstreamError } from "../../../../lambdas/lib/errors.js";
import type { ExportDocument } from "../../../../lambdas/lib/exports/export-document.js";
import {
  IDEMPOTENCY_TTL_MS,
  idempotencyRecordKey,
  idempotentExport,
} from "../../../../lambdas/lib/exports/idempotency.js";
import { memoryContext } from "../../../support/memory-export-store.js";

const TARGET = { customerId: "42", subAccountId: null };

describe("Idempotency-Key", () => {
  const failing = async (): Promise<ExportDocument> => {
    throw new UpstreamError("Wavy answered 500");
  };
  const once = (world: ReturnType<typeof memoryContext>, run = failing, target = TARGET) =>
    idempotentExport("key-1", target, false, { ...world.ctx, deadline: new Deadline(1_000) }, run);

  it("releases the key on failure only if it still holds it (If-Match on its claim)", async () => {
    const world = memoryContext();
    const recordKey = idempotencyRecordKey("key-1");
    // Another request replaces the record while this one fails: the release must not free it.
    const run = async (): Promise<ExportDocument> => {
      const held = world.store.objects.get(recordKey);
      await world.store.put(recordKey, held?.text ?? "", undefined);
      throw new UpstreamError("Wavy answered 500");
    };

    await expect(once(world, run)).rejects.toThrow(UpstreamError);
    expect(world.store.keys("idempotency/")).toEqual([recordKey]);
  });

  it("frees the key when the export fails, so a retry runs anew", async () => {
    const world = memoryContext();
    await expect(once(world)).rejects.toThrow(UpstreamError);
    expect(world.store.keys("idempotency/")).toEqual([]);
  });

  it("refuses the key with another target within the TTL, and frees it after", async () => {
    const world = memoryContext();
    const recordKey = idempotencyRecordKey("key-1");
    const record = {
      exportId: "x",
      fingerprint: "another",
      claimedAt: world.ctx.clock().toISOString(),
    };
    await world.store.put(recordKey, JSON.stringify(record), undefined);

    await expect(once(world)).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    world.advance(IDEMPOTENCY_TTL_MS);
    await expect(once(world)).rejects.toThrow(UpstreamError);
  });
});
