import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backfillCompanions } from "../../scripts/backfill-companions.js";
import { BUCKET, type Harness, startHarness } from "../support/export-harness.js";

/** `npm run backfill:companions` over the local S3: builds what is missing, and only that. */
describe("npm run backfill:companions", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      wavy: {
        csvByTarget: {
          "42": "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n",
          "43": "source;session_created_at\n5511900000001;2026-11-28 10:00:00\n",
        },
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it("builds the companions of exports without one, is a no-op the second time, skips failed ones", async () => {
    // Two exports whose companion function failed (S3 refused sessions/), one that got its own.
    h.s3.injectFault((req) =>
      req.method === "PUT" && (req.url ?? "").includes("/sessions/") ? 503 : undefined,
    );
    const first = await h.call("POST", "/exports", { customerId: "42" });
    const second = await h.call("POST", "/exports", { customerId: "43" });
    await expect(h.companions(2)).rejects.toThrow();
    h.s3.clearFaults();
    const third = await h.call("POST", "/exports", { customerId: "42" });
    await h.companions(3);
    expect(await h.objectKeys("sessions/")).toEqual([third.json.sessionsKey]);
    const options = { s3: h.s3Client, bucket: BUCKET, timeZone: "America/Sao_Paulo" };

    const dry = await backfillCompanions({ ...options, customerId: "42", dryRun: true });
    expect(dry).toMatchObject({ built: 0, existing: 1, missing: [first.json.exportId] });

    const run = await backfillCompanions(options);
    expect(run).toEqual({ built: 2, existing: 1, skipped: 0, missing: [], failed: [] });
    expect((await h.objectKeys("sessions/")).sort()).toEqual(
      [first.json.sessionsKey, second.json.sessionsKey, third.json.sessionsKey].sort(),
    );
    const read = await h.call("GET", `/exports/${first.json.exportId}`);
    expect(read.json.companion).toMatchObject({ status: "ready" });

    const again = await backfillCompanions(options);
    expect(again).toEqual({ built: 0, existing: 3, skipped: 0, missing: [], failed: [] });
  });
});
