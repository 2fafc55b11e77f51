import { describe, expect, it } from "vitest";
import { loadExportConfig, loadWavyConfig } from "../../../lambdas/lib/config.js";
import { ConfigurationError } from "../../../lambdas/lib/errors.js";

const SECRET = {
  WAVY_SECRET_ID: "arn:aws:secretsmanager:us-east-1:111122223333:secret:wavy-AbCdEf",
};

describe("configuration", () => {
  it("applies the contract's defaults", () => {
    const config = loadExportConfig({ ...SECRET, EXPORT_BUCKET: "exports" });

    expect(config).toMatchObject({
      credentials: { kind: "secret", secretId: SECRET.WAVY_SECRET_ID },
      timeZone: "America/Sao_Paulo",
      requestBudgetMs: 25_000,
      maxCsvBytes: 5_368_709_120,
      downloadUrlTtlSeconds: 900,
      bucket: "exports",
      s3ForcePathStyle: false,
    });
    expect(config.apiUrl.href).toBe("https://api-messaging.wavy.global/");
    expect(
      config.downloadOrigins.map(
        (o) => `${o.protocol}//${o.wildcard ? "*." : ""}${o.host}:${o.port}`,
      ),
    ).toEqual(["https://chatclub-cdn.wavy.global:443", "https://*.wavy.global:443"]);
  });

  it("uses local credentials only when no secret id is set", () => {
    const local = loadWavyConfig({ WAVY_USER_NAME: "u", WAVY_AUTH_TOKEN: "t" });
    const both = loadWavyConfig({ ...SECRET, WAVY_USER_NAME: "u", WAVY_AUTH_TOKEN: "t" });

    expect(local.credentials).toEqual({ kind: "static", userName: "u", authenticationToken: "t" });
    expect(both.credentials.kind).toBe("secret");
  });

  it.each([
    [{}, /WAVY_SECRET_ID is required/],
    [{ ...SECRET, WAVY_TIMEZONE: "Mars/Olympus" }, /WAVY_TIMEZONE is not an IANA time zone/],
    [{ ...SECRET, REQUEST_BUDGET_MS: "29000" }, /REQUEST_BUDGET_MS/],
    [{ ...SECRET, REQUEST_BUDGET_MS: "soon" }, /REQUEST_BUDGET_MS/],
    [{ ...SECRET, MAX_CSV_BYTES: "-1" }, /MAX_CSV_BYTES/],
    [{ ...SECRET, WAVY_API_URL: "ftp://wavy" }, /WAVY_API_URL/],
    [
      { ...SECRET, WAVY_DOWNLOAD_ORIGINS: "https://ok.example, not an origin" },
      /WAVY_DOWNLOAD_ORIGINS has an entry that is not an origin/,
    ],
    [{ ...SECRET, WAVY_DOWNLOAD_ORIGINS: " , " }, /WAVY_DOWNLOAD_ORIGINS lists no origin/],
    [
      { ...SECRET, REQUEST_BUDGET_MS: "29000" },
      /REQUEST_BUDGET_MS must be a positive integer in plain digits, at most 28000/,
    ],
    [
      { ...SECRET, MAX_CSV_BYTES: "1.5" },
      /MAX_CSV_BYTES must be a positive integer in plain digits$/,
    ],
    [{ ...SECRET, REQUEST_BUDGET_MS: "1e3" }, /REQUEST_BUDGET_MS must be a positive integer/],
    [{ ...SECRET, REQUEST_BUDGET_MS: "0x384" }, /REQUEST_BUDGET_MS must be a positive integer/],
    [{ ...SECRET, REQUEST_BUDGET_MS: " 900 " }, /REQUEST_BUDGET_MS must be a positive integer/],
    [{ ...SECRET, MAX_CSV_BYTES: "0900" }, /MAX_CSV_BYTES must be a positive integer/],
    [{ ...SECRET, MAX_CSV_BYTES: "9007199254740993" }, /MAX_CSV_BYTES must be a positive integer/],
    [{ ...SECRET, WAVY_API_URL: "not a url" }, /WAVY_API_URL must be an http or https URL/],
    [{ ...SECRET, WAVY_TIMEZONE: "" }, /WAVY_TIMEZONE is not an IANA time zone/],
  ])("refuses %j with a message naming the variable", (env, message) => {
    expect(() => loadWavyConfig(env)).toThrow(ConfigurationError);
    expect(() => loadWavyConfig(env)).toThrow(message);
  });

  it("reads numbers written in plain digits", () => {
    const config = loadExportConfig({
      ...SECRET,
      EXPORT_BUCKET: "b",
      REQUEST_BUDGET_MS: "900",
      MAX_CSV_BYTES: "1048576",
      DOWNLOAD_URL_TTL_SECONDS: "60",
    });

    expect(config).toMatchObject({
      requestBudgetMs: 900,
      maxCsvBytes: 1_048_576,
      downloadUrlTtlSeconds: 60,
    });
  });

  it("accepts any zone the runtime's Intl knows, and UTC offsets of the Etc/ area", () => {
    for (const zone of ["UTC", "Etc/GMT+3", "America/Manaus", "Asia/Kolkata"]) {
      expect(loadWavyConfig({ ...SECRET, WAVY_TIMEZONE: zone }).timeZone).toBe(zone);
    }
  });

  it("requires EXPORT_BUCKET for the export alone", () => {
    expect(() => loadExportConfig(SECRET)).toThrow(/EXPORT_BUCKET is required/);
    expect(() => loadExportConfig({ ...SECRET, EXPORT_BUCKET: " " })).toThrow(
      /EXPORT_BUCKET is required/,
    );
    expect(() =>
      loadExportConfig({ ...SECRET, EXPORT_BUCKET: "b", S3_FORCE_PATH_STYLE: "yes" }),
    ).toThrow(/S3_FORCE_PATH_STYLE must be "true" or "false"/);
    expect(() => loadWavyConfig(SECRET)).not.toThrow();
  });

  it("never echoes the token in a configuration error", () => {
    const env = {
      WAVY_USER_NAME: "u",
      WAVY_AUTH_TOKEN: "super-secret-token",
      REQUEST_BUDGET_MS: "x",
    };

    expect(() => loadWavyConfig(env)).toThrow(/REQUEST_BUDGET_MS/);
    try {
      loadWavyConfig(env);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("super-secret-token");
    }
  });
});

describe("values that parse but cannot work", () => {
  const EXPORT = { ...SECRET, EXPORT_BUCKET: "exports" };

  it.each([
    ["30", "within the worker's 30 s safety margin: no time left to copy"],
    ["59", "a second short of the smallest that can copy"],
    ["901", "past Lambda's 15 minutes"],
  ])("refuses EXPORT_WORKER_TIMEOUT_SECONDS=%s (%s), naming it", (value) => {
    expect(() => loadExportConfig({ ...EXPORT, EXPORT_WORKER_TIMEOUT_SECONDS: value })).toThrow(
      /EXPORT_WORKER_TIMEOUT_SECONDS must be a positive integer in plain digits, at least 60 and at most 900/,
    );
  });

  it.each(["60", "900"])("accepts EXPORT_WORKER_TIMEOUT_SECONDS=%s", (value) => {
    const config = loadExportConfig({ ...EXPORT, EXPORT_WORKER_TIMEOUT_SECONDS: value });
    expect(config.workerTimeoutSeconds).toBe(Number(value));
  });
});
