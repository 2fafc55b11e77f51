import { describe, expect, it } from "vitest";
import {
  describeIssues,
  SessionTargetBodySchema,
  SessionTargetSchema,
} from "../../../lambdas/lib/ids.js";

const ID_RULE = "must be a positive integer id (1-18 digits, no leading zero)";
const UNSAFE_RULE =
  "is a JSON number above 2^53 - 1, which JSON cannot carry exactly: send the id as a string of 1-18 digits";

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
    [{ customerId: 2 ** 53 }, `customerId: ${UNSAFE_RULE}`],
    // JSON.parse has already rounded it: 123456789012345678 arrives as 123456789012345680.
    [JSON.parse('{"customerId": 123456789012345678}'), `customerId: ${UNSAFE_RULE}`],
    [{ customerId: -(2 ** 60) }, `customerId: ${ID_RULE}`],
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

  describe("as a POST /exports body", () => {
    const bodyRejection = (input: unknown) => {
      const result = SessionTargetBodySchema.safeParse(input);
      if (result.success) throw new Error(`accepted ${JSON.stringify(input)}`);
      return describeIssues(result.error);
    };

    it("parses the same targets", () => {
      expect(SessionTargetBodySchema.parse({ customerId: 42, subAccountId: null })).toEqual({
        customerId: "42",
        subAccountId: null,
      });
    });

    it.each([
      [
        "a misspelt field",
        { customerId: "42", subaccountId: "7" },
        'unknown field "subaccountId": the body takes customerId and, optionally, subAccountId',
      ],
      [
        "four unknown fields",
        { customerId: "42", a: 1, b: 2, c: 3, d: 4 },
        'unknown fields "a", "b", "c" and 1 more: the body takes customerId and, optionally, subAccountId',
      ],
      [
        "a bad id and a 1000-character field",
        { customerId: "x", ["k".repeat(1000)]: 1 },
        `customerId: ${ID_RULE}; unknown field "${"k".repeat(40)}": the body takes customerId and, optionally, subAccountId`,
      ],
      ["an array", [], "must be a JSON object with customerId (and optionally subAccountId)"],
    ])("refuses %s, naming what is wrong", (_name, input, message) => {
      expect(bodyRejection(input)).toBe(message);
    });
  });
});
