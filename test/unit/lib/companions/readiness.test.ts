import { describe, expect, it } from "vitest";
import { companionOf } from "../../../../lambdas/lib/companions/readiness.js";
import type { SucceededManifest } from "../../../../lambdas/lib/exports/export-document.js";

const MANIFEST: SucceededManifest = {
  exportId: "20261128T120000Z-0123456789abcdef",
  trigger: "request",
  customerId: "42",
  subAccountId: "7",
  bucket: "b",
  key: "exports/customerId=42/subAccountId=7/date=2026-11-28/20261128T120000Z-0123456789abcdef.csv",
  createdAt: "2026-11-28T12:00:00.000Z",
  status: "succeeded",
  rows: 1,
  bytes: 1,
  sha256: "0".repeat(64),
  completedAt: "2026-11-28T12:00:01.000Z",
};
const KEY =
  "sessions/customerId=42/subAccountId=7/date=2026-11-28/20261128T120000Z-0123456789abcdef.parquet";
const at = (iso: string) => new Date(iso);

describe("the export document's companion", () => {
  it("is ready once the object exists, whatever the time", async () => {
    const asked: string[] = [];
    const exists = async (key: string) => {
      asked.push(key);
      return true;
    };
    expect(await companionOf(MANIFEST, exists, at("2027-01-01T00:00:00Z"))).toEqual({
      status: "ready",
      key: KEY,
    });
    expect(asked).toEqual([KEY]);
  });

  it("is pending within the build window and failed past it", async () => {
    const missing = async () => false;
    // completedAt + 480 minutes is 20:00:01.
    expect(await companionOf(MANIFEST, missing, at("2026-11-28T20:00:01.000Z"))).toMatchObject({
      status: "pending",
    });
    expect(await companionOf(MANIFEST, missing, at("2026-11-28T20:00:01.001Z"))).toMatchObject({
      status: "failed",
    });
  });

  it("counts from createdAt for manifests written before completedAt existed", async () => {
    const { completedAt: _, ...older } = MANIFEST;
    expect(await companionOf(older, async () => false, at("2026-11-28T20:00:00.500Z"))).toEqual({
      status: "failed",
      key: KEY,
    });
  });
});
