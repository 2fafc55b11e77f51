/**
 * A phone number as logs may show it: every character but the last 4 as `*` (LGPD;
 * docs/contract.md, "Window intelligence"). A key of 4 characters or fewer is masked whole.
 */
export function maskDestination(destination: string): string {
  if (destination.length <= 4) return "*".repeat(destination.length);
  return "*".repeat(destination.length - 4) + destination.slice(-4);
}
