import type * as Layout from "../../lambdas/lib/layout.js";
import type { KeyLayout, Partition } from "../../lambdas/lib/layout.js";

/**
 * A second key layout, for tests only (docs/contract.md, "Key layout versions"): the date folder
 * split into `year=/month=/day=`, the change issue 19 found touching ~17 files. Not deployed: the
 * Glue tables project one location template, so writing it would hide layout-1 objects from
 * Athena until they were moved, and the named queries filter on `export_date`.
 *
 * Built from the layout module it is given, and importing nothing of it at run time, so that a
 * `vi.mock` factory of that module can call it with the original.
 */
export function layout2(layout: typeof Layout): KeyLayout {
  const datePart = (
    column: string,
    from: number,
    to: number,
    min: number,
    max: number,
  ): Partition => ({
    segment: column,
    column,
    value: (_target, createdAt) => createdAt.toISOString().slice(from, to),
    // https://docs.aws.amazon.com/athena/latest/ug/partition-projection-integer-type.html
    projection: () => ({ type: "integer", min, max, digits: to - from }),
  });
  return {
    version: 2,
    partitions: [
      layout.CUSTOMER_PARTITION,
      layout.SUB_ACCOUNT_PARTITION,
      datePart("year", 0, 4, 2026, 2100),
      datePart("month", 5, 7, 1, 12),
      datePart("day", 8, 10, 1, 31),
    ],
  };
}

/**
 * What `vi.mock` of lambdas/lib/layout.ts returns to run the code under layout 2: layout 2 is
 * written, layouts 1 and 2 are read.
 */
export function underLayout2(actual: typeof Layout): typeof Layout {
  const two = layout2(actual);
  return { ...actual, CURRENT_LAYOUT: two, LAYOUTS: { 1: actual.LAYOUT_1, 2: two } };
}
