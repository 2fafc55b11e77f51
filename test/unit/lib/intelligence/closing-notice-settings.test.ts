import { describe, expect, it } from "vitest";
import { loadClosingNoticesConfig } from "../../../../lambdas/lib/config.js";
import { parseClosingNoticeSettings } from "../../../../lambdas/lib/intelligence/closing-notice-settings.js";

describe("closing-notice settings", () => {
  it("reads origin -> minutes from JSON text or an object, absent as none", () => {
    expect(parseClosingNoticeSettings('{"5511999990000": 60}')).toEqual({ "5511999990000": 60 });
    expect(parseClosingNoticeSettings({ "5511999990000": 1440 })).toEqual({
      "5511999990000": 1440,
    });
    expect(parseClosingNoticeSettings(undefined)).toEqual({});
    expect(parseClosingNoticeSettings("")).toEqual({});
  });

  it("refuses a lead shorter than two sweeps, longer than a window, or not whole", () => {
    for (const minutes of [9, 1441, 60.5, "60"]) {
      expect(() => parseClosingNoticeSettings({ "5511999990000": minutes })).toThrow(
        /closingNoticeMinutes of 5511999990000 must be a whole number from 10 to 1440/,
      );
    }
  });

  it("refuses an origin that is not a number, and a list instead of a map", () => {
    expect(() => parseClosingNoticeSettings({ "+55 11": 60 })).toThrow(/must be 1-20 digits/);
    expect(() => parseClosingNoticeSettings("[60]")).toThrow(/JSON object/);
    expect(() => parseClosingNoticeSettings("{")).toThrow(/not JSON/);
  });

  it("fails the sweeper's configuration naming the variable", () => {
    const env = { WINDOWS_TABLE_NAME: "t", EVENT_BUS_NAME: "b" };
    expect(() => loadClosingNoticesConfig({ ...env, CLOSING_NOTICES: '{"1": 5}' })).toThrow(
      /CLOSING_NOTICES closingNoticeMinutes/,
    );
    expect(() => loadClosingNoticesConfig({ EVENT_BUS_NAME: "b" })).toThrow(/WINDOWS_TABLE_NAME/);
    expect(loadClosingNoticesConfig(env).settings).toEqual({});
  });
});
