import { ALL_SUB_ACCOUNTS, DIMENSION, INTELLIGENCE_DIMENSION } from "../contract.js";
import type { MetricPoint, OriginTarget } from "./ports.js";

export const count = (
  name: string,
  dimensions: Record<string, string>,
  value = 1,
): MetricPoint => ({ name, dimensions, value, unit: "Count" });

export const targetDimensions = (target: {
  customerId: string;
  subAccountId: string | null;
}): Record<string, string> => ({
  [DIMENSION.customerId]: target.customerId,
  [DIMENSION.subAccountId]: target.subAccountId ?? ALL_SUB_ACCOUNTS,
});

/** Sums points of the same name and dimension set (one EMF datum each). */
export function aggregate(points: readonly MetricPoint[]): MetricPoint[] {
  const sums = new Map<string, MetricPoint>();
  for (const point of points) {
    const dims = Object.entries(point.dimensions).sort(([a], [b]) => a.localeCompare(b));
    const key = JSON.stringify([point.name, point.unit, dims]);
    const seen = sums.get(key);
    if (seen && point.unit === "Count") seen.value += point.value;
    else sums.set(key, { ...point, dimensions: { ...point.dimensions } });
  }
  return [...sums.values()];
}

/**
 * Which origins are configured, and the one target each belongs to. With no list at all (a
 * processor not told the targets), an origin stands for itself; with a list, an origin outside
 * it is `unlisted`, so a callback cannot mint metrics at will.
 */
export class OriginDirectory {
  private readonly targets = new Map<string, OriginTarget[]>();

  constructor(private readonly list: readonly OriginTarget[] | undefined) {
    for (const target of list ?? []) {
      for (const origin of target.origins) {
        const owners = this.targets.get(origin) ?? [];
        owners.push(target);
        this.targets.set(origin, owners);
      }
    }
  }

  label(origin: string): string {
    if (this.list === undefined || this.targets.has(origin)) return origin;
    return INTELLIGENCE_DIMENSION.unlistedOrigin;
  }

  /** The target, when exactly one lists this origin. */
  targetOf(origin: string): OriginTarget | undefined {
    const owners = this.targets.get(origin);
    return owners?.length === 1 ? owners[0] : undefined;
  }
}
