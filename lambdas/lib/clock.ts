import { LIMITS } from "./contract.js";

/** Injected wherever "now" matters, so tests can be exact. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/**
 * The time one request may take, Wavy call and CSV transfer together (REQUEST_BUDGET_MS).
 * Everything downstream asks it how much is left instead of keeping its own timers.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly endsAt: number;

  // No injectable clock: the signal runs on a real timer, and the two must agree.
  constructor(budgetMs: number) {
    this.endsAt = Date.now() + budgetMs;
    this.signal = AbortSignal.timeout(budgetMs);
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }
}

/**
 * The signal for clean-up calls: not the deadline's (clean-up must still go out once it has
 * fired), but a short one of its own (LIMITS.cleanupGraceMs), so a hung S3 cannot hold the
 * answer.
 */
export function cleanupSignal(): AbortSignal {
  return AbortSignal.timeout(LIMITS.cleanupGraceMs);
}
