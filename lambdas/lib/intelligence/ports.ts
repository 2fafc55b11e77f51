/**
 * What window intelligence talks to besides the windows table (docs/contract.md, "Window
 * intelligence"): the event bus and the metrics, as ports, which the EventBridge and EMF adapters
 * implement. The table is the live windows' one port, lambdas/lib/windows/window-store.ts.
 */

/** An event for the bus: source `wavy-sessions`, the detail as a JSON object. */
export interface WindowEvent {
  detailType: string;
  detail: Record<string, unknown>;
}

export interface WindowEventBus {
  /** Puts the events; answers, per event in order, whether the bus accepted it. */
  put(events: readonly WindowEvent[]): Promise<boolean[]>;
}

/** A metric datum to emit; the emitter aggregates equal name + dimensions. */
export interface MetricPoint {
  name: string;
  dimensions: Record<string, string>;
  value: number;
  unit: "Count" | "None";
}

/** Who a business number belongs to: the stack's targets and their `origins`. */
export interface OriginTarget {
  customerId: string;
  subAccountId: string | null;
  origins: readonly string[];
}
