/** One line of the smoke test's checklist: what was checked, whether it held, what was seen. */
export interface Check {
  name: string;
  ok: boolean;
  seen: string;
}

export const passed = (name: string, seen: string): Check => ({ name, ok: true, seen });
export const failed = (name: string, seen: string): Check => ({ name, ok: false, seen });

/** A check that could not run because an earlier one failed: still a ✘, never a silent skip. */
export const notChecked = (name: string, because: string): Check =>
  failed(name, `not checked: ${because}`);

export function formatCheck(check: Check): string {
  return `${check.ok ? "✔" : "✘"} ${check.name}: ${check.seen}`;
}

export function summary(checks: readonly Check[]): string {
  const failures = checks.filter((check) => !check.ok).length;
  return failures === 0
    ? `All ${checks.length} checks passed.`
    : `${failures} of ${checks.length} checks failed.`;
}

/** 0 when every check held, 1 otherwise (2 is kept for "could not run at all"). */
export function exitCodeOf(checks: readonly Check[]): number {
  return checks.every((check) => check.ok) ? 0 : 1;
}
