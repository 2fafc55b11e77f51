import { describe, expect, it } from "vitest";
import {
  exportKey,
  layoutOf,
  namesOwnCsv,
  newExportKeys,
  type SucceededManifest,
} from "../../../lambdas/lib/exports/export-document.js";
import * as layout from "../../../lambdas/lib/layout.js";
import { layout2 } from "../../support/layout-2.js";

const CREATED = new Date("2026-11-28T10:49:15.000Z");
const TARGET = { customerId: "42", subAccountId: "7" };
const ID = "20261128T104915Z-0123456789abcdef";

const manifest = (changes: Partial<SucceededManifest> = {}): SucceededManifest => ({
  exportId: ID,
  trigger: "request",
  customerId: "42",
  subAccountId: "7",
  bucket: "b",
  key: `exports/customerId=42/subAccountId=7/date=2026-11-28/${ID}.csv`,
  createdAt: CREATED.toISOString(),
  status: "succeeded",
  rows: 0,
  bytes: 0,
  sha256: "0".repeat(64),
  ...changes,
});

describe("the key layout", () => {
  it("builds layout 1's keys, as the contract's S3 layout writes them", () => {
    expect(exportKey(TARGET, ID, CREATED)).toBe(manifest().key);
    expect(newExportKeys(TARGET, ID, CREATED)).toEqual({ key: manifest().key, layoutVersion: 1 });
    expect(layout.historyPrefix({ customerId: "42", subAccountId: null })).toBe(
      "history/customerId=42/subAccountId=all/",
    );
    expect(layout.manifestKey(ID)).toBe(`manifests/${ID}.json`);
  });

  it("builds another layout's keys from its own partitions", () => {
    expect(exportKey(TARGET, ID, CREATED, layout2(layout))).toBe(
      `exports/customerId=42/subAccountId=7/year=2026/month=11/day=28/${ID}.csv`,
    );
  });

  it("reads a history entry's name back by its parts, and refuses anything else", () => {
    const name = layout.historyEntryName(CREATED, ID);
    expect(layout.parseHistoryEntryName(name)).toEqual({
      stamp: layout.invertedStamp(CREATED),
      exportId: ID,
    });
    for (const bad of ["", `${ID}.json`, `123-${ID}.json`, `${name}.json`, name.slice(0, -1)]) {
      expect(layout.parseHistoryEntryName(bad), bad).toBeUndefined();
    }
  });

  it("projects ids as injected and the UTC date over the retention window", () => {
    // Rendered into table parameters by the Glue L2: test/infra/data-catalog.test.ts.
    const projections = layout.LAYOUT_1.partitions.map((p) => [p.column, p.projection(30)]);
    expect(Object.fromEntries(projections)).toEqual({
      customer_id: { type: "injected" },
      sub_account_id: { type: "injected" },
      export_date: {
        type: "date",
        format: "yyyy-MM-dd",
        min: "NOW-30DAYS",
        max: "NOW",
        step: { interval: 1, unit: "DAYS" },
      },
    });
  });

  it("makes Glue's location template from the partition folders", () => {
    expect(layout.locationTemplate(layout2(layout))).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Glue's template, not JavaScript's
      "customerId=${customer_id}/subAccountId=${sub_account_id}/year=${year}/month=${month}/day=${day}/",
    );
  });
});

describe("the trust rule across layouts", () => {
  it("reads a manifest without layoutVersion as layout 1, and trusts it", () => {
    expect(layoutOf(manifest())).toBe(layout.LAYOUT_1);
    expect(namesOwnCsv(manifest(), "b")).toBe(true);
    expect(namesOwnCsv(manifest({ layoutVersion: 1 }), "b")).toBe(true);
  });

  it("trusts no manifest naming a layout this code does not have", () => {
    expect(layoutOf(manifest({ layoutVersion: 2 }))).toBeUndefined();
    expect(namesOwnCsv(manifest({ layoutVersion: 2 }), "b")).toBe(false);
  });
});
