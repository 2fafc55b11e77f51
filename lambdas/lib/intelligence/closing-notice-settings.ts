import { CLOSING_NOTICES } from "../contract.js";
import type { ClosingNoticeSettings } from "./closing-notices.js";

/**
 * `closingNotices` (CDK context) and `CLOSING_NOTICES` (the sweeper's environment), the same
 * JSON: `{"<origin>": <closingNoticeMinutes>}` (docs/contract.md, "Closing notices"). Shared by
 * the stack (validated at synth) and the function, so the two read it alike. Throws an Error
 * whose message names the bad entry; an origin is a business number, not personal data.
 */
export function parseClosingNoticeSettings(value: unknown): ClosingNoticeSettings {
  const json = typeof value === "string" ? parseJson(value) : value;
  if (json === undefined || json === null) return {};
  if (typeof json !== "object" || Array.isArray(json)) {
    throw new Error('must be a JSON object {"<origin>": <minutes>}');
  }
  const { minMinutes, maxMinutes } = CLOSING_NOTICES;
  const settings: Record<string, number> = {};
  for (const [origin, minutes] of Object.entries(json)) {
    if (!/^[0-9]{1,20}$/.test(origin)) {
      throw new Error(`origin ${JSON.stringify(origin.slice(0, 24))} must be 1-20 digits`);
    }
    if (!Number.isInteger(minutes) || minutes < minMinutes || minutes > maxMinutes) {
      throw new Error(
        `closingNoticeMinutes of ${origin} must be a whole number from ${minMinutes} to ${maxMinutes}`,
      );
    }
    settings[origin] = minutes;
  }
  return settings;
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('is not JSON: expected {"<origin>": <minutes>}');
  }
}
