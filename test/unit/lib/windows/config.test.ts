import { describe, expect, it } from "vitest";
import { loadWindowEventsConfig, loadWindowsTableName } from "../../../../lambdas/lib/config.js";
import { ConfigurationError } from "../../../../lambdas/lib/errors.js";

/** docs/contract.md, "Configuration": the live windows' variables. */
describe("the live windows' configuration", () => {
  const env = { WINDOWS_TABLE_NAME: "windows", REJECTED_BUCKET: "bucket", EVENT_BUS_NAME: "bus" };

  it("reads the processor's table, bucket and retention, 7 days by default", () => {
    expect(loadWindowEventsConfig(env)).toEqual({
      tableName: "windows",
      rejectedBucket: "bucket",
      retentionDays: 7,
      eventBusName: "bus",
      targets: undefined,
    });
    expect(loadWindowEventsConfig({ ...env, WINDOW_RETENTION_DAYS: "30" }).retentionDays).toBe(30);
  });

  it("reads the targets' origins for the status path (issue 21)", () => {
    const targets = [{ customerId: "42", subAccountId: null, origins: ["5511999990000"] }];
    expect(
      loadWindowEventsConfig({ ...env, WINDOW_TARGETS: JSON.stringify(targets) }).targets,
    ).toEqual(targets);
  });

  it.each([
    [{ REJECTED_BUCKET: "bucket", EVENT_BUS_NAME: "bus" }, /WINDOWS_TABLE_NAME is required/],
    [{ WINDOWS_TABLE_NAME: "windows", REJECTED_BUCKET: "bucket" }, /EVENT_BUS_NAME is required/],
    [{ ...env, WINDOW_TARGETS: '[{"customerId": 42}]' }, /WINDOW_TARGETS must be JSON/],
    [{ WINDOWS_TABLE_NAME: "windows", EVENT_BUS_NAME: "bus" }, /REJECTED_BUCKET is required/],
    [
      { ...env, WINDOW_RETENTION_DAYS: "366" },
      /WINDOW_RETENTION_DAYS must be a positive integer in plain digits, at most 365/,
    ],
    [{ ...env, WINDOW_RETENTION_DAYS: "7d" }, /WINDOW_RETENTION_DAYS/],
  ])("fails naming the variable: %j", (input, message) => {
    expect(() => loadWindowEventsConfig(input)).toThrow(ConfigurationError);
    expect(() => loadWindowEventsConfig(input)).toThrow(message);
  });

  it("gives the lookups the table name, and names it when missing", () => {
    expect(loadWindowsTableName(env)).toBe("windows");
    expect(() => loadWindowsTableName({})).toThrow(/WINDOWS_TABLE_NAME is required/);
  });
});
