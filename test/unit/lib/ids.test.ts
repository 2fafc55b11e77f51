import { describe, expect, it } from "vitest";
import { describeIssues, SessionTargetSchema } from "../../../lambdas/lib/ids.js";

const ID_RULE = "must be a positive integer id (1-18 digits, no leading zero)";

function rejection(input: unknown): string {
  const result = SessionTargetSchema.safeParse(input);
  if (result.success) throw new Error(`accepted ${JSON.stringify(input)}`);
  return describeIssues(result.error);
}

describe("session target", () => {
  it.each([
    [{ customerId: "42" }, { customerId: "42", subAccountId: null }],
    [
      { customerId: 42, subAccountId: 7 },
      { customerId: "42", subAccountId: "7" },
    ],
    [
      { customerId: "42", subAccountId: null },
      { customerId: "42", subAccountId: null },
    ],
    [
      { customerId: "123456789012345678" },
      { customerId: "123456789012345678", subAccountId: null },
    ],
  ])("parses %j", (input, expected) => {
    expect(SessionTargetSchema.parse(input)).toEqual(expected);
  });

  // zod/mini ships no locale: every message must come from the schema itself, never zod's
  // fallback "Invalid input".
  it.each([
    [{ customerId: "042" }, `customerId: ${ID_RULE}`],
    [{ customerId: "0" }, `customerId: ${ID_RULE}`],
    [{ customerId: 0 }, `customerId: ${ID_RULE}`],
    [{ customerId: -4 }, `customerId: ${ID_RULE}`],
    [{ customerId: 4.5 }, `customerId: ${ID_RULE}`],
    [{ customerId: 2 ** 53 }, `customerId: ${ID_RULE}`],
    [{ customerId: "1234567890123456789" }, `customerId: ${ID_RULE}`],
    [{ customerId: true }, `customerId: ${ID_RULE}`],
    [{ customerId: null }, `customerId: ${ID_RULE}`],
    [{}, "customerId: is required"],
    [{ customerId: "42", subAccountId: "" }, `subAccountId: ${ID_RULE}`],
    [null, "must be a JSON object with customerId (and optionally subAccountId)"],
    [[], "must be a JSON object with customerId (and optionally subAccountId)"],
  ])("refuses %j with a readable message", (input, message) => {
    expect(rejection(input)).toBe(message);
  });

  it("names every bad field", () => {
    expect(rejection({ customerId: "x", subAccountId: 0 })).toBe(
      `customerId: ${ID_RULE}; subAccountId: ${ID_RULE}`,
    );
  });
});
