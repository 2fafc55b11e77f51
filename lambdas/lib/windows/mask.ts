/**
 * A phone number as a log line may show it (LGPD: docs/contract.md, "Live windows", "Privacy"):
 * every character but the last 4 becomes `*`. Anything of 4 characters or fewer is masked
 * whole, since its last 4 would be all of it. Never throws: logging must not fail on odd input.
 */
export function maskNumber(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  const shown = text.length > 4 ? 4 : 0;
  return "*".repeat(text.length - shown) + text.slice(text.length - shown);
}
