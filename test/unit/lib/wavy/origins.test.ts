import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../../../lambdas/lib/contract.js";
import { isAllowedUrl, parseAllowedOrigins } from "../../../../lambdas/lib/wavy/origins.js";

/** Whether `link` may be fetched under the allow-list `list`. */
function allows(list: string, link: string): boolean {
  return isAllowedUrl(new URL(link), parseAllowedOrigins(list));
}

describe("parseAllowedOrigins", () => {
  it("reads the default list: one exact host and one wildcard, both on 443", () => {
    // Act
    const origins = parseAllowedOrigins(DEFAULTS.downloadOrigins);
    // Assess
    expect(origins).toEqual([
      { protocol: "https:", host: "chatclub-cdn.wavy.global", wildcard: false, port: "443" },
      { protocol: "https:", host: "wavy.global", wildcard: true, port: "443" },
    ]);
  });

  it("skips blanks and empty entries, takes a trailing slash, and gives http port 80", () => {
    expect(parseAllowedOrigins(" https://a.example/ , ,http://b.example,")).toEqual([
      { protocol: "https:", host: "a.example", wildcard: false, port: "443" },
      { protocol: "http:", host: "b.example", wildcard: false, port: "80" },
    ]);
  });

  it("lowercases the scheme and host and keeps an explicit port", () => {
    expect(parseAllowedOrigins("HTTPS://*.Files.Example:8443")).toEqual([
      { protocol: "https:", host: "files.example", wildcard: true, port: "8443" },
    ]);
  });

  it.each([
    ["http://127.0.0.1:9000", "127.0.0.1"],
    ["http://0x7f000001:9000", "127.0.0.1"],
    ["http://[::1]:9000", "[::1]"],
    ["http://[0:0::1]:9000", "[::1]"],
  ])("writes the loopback literal %s as a link's host parses (%s)", (entry, host) => {
    expect(parseAllowedOrigins(entry)).toEqual([
      { protocol: "http:", host, wildcard: false, port: "9000" },
    ]);
  });

  it.each([
    ["", "lists no origin"],
    [" , ,", "lists no origin"],
    ["ftp://files.example", 'has an entry that is not an origin: "ftp://files.example"'],
    ["files.example", 'has an entry that is not an origin: "files.example"'],
    [
      "https://files.example/csv",
      'has an entry that is not an origin: "https://files.example/csv"',
    ],
    ["https://u@files.example", 'has an entry that is not an origin: "https://u@files.example"'],
    ["https://*.", 'has an entry that is not an origin: "https://*."'],
    ["https://a.*.example", 'has an entry that is not an origin: "https://a.*.example"'],
    ["https://files.example:", 'has an entry that is not an origin: "https://files.example:"'],
    [
      "https://files.example:123456",
      'has an entry that is not an origin: "https://files.example:123456"',
    ],
    ["https://ok.example,https://", 'has an entry that is not an origin: "https://"'],
    ["http://256.0.0.1", 'has an entry whose host is not valid: "256.0.0.1"'],
    ["http://[1::2::3]", 'has an entry whose host is not valid: "[1::2::3]"'],
    // Ports no link can carry: such an entry would silently never match.
    [
      "https://files.example:99999",
      'has an entry whose port is not valid: "https://files.example:99999"',
    ],
    ["https://files.example:0", 'has an entry whose port is not valid: "https://files.example:0"'],
    [
      "https://files.example:0443",
      'has an entry whose port is not valid: "https://files.example:0443"',
    ],
  ])("refuses %j: it %s", (list, message) => {
    expect(() => parseAllowedOrigins(list)).toThrow(new Error(message));
  });
});

describe("isAllowedUrl", () => {
  const DEFAULT = DEFAULTS.downloadOrigins;

  it.each([
    "https://chatclub-cdn.wavy.global/2026/11/28/sessions.csv",
    "https://files.wavy.global/sessions.csv",
    "https://a.b.c.wavy.global/sessions.csv",
    "https://FILES.WAVY.GLOBAL/sessions.csv",
  ])("allows %s under the default list", (link) => {
    expect(allows(DEFAULT, link)).toBe(true);
  });

  it.each([
    ["the wildcard's suffix itself", "https://wavy.global/sessions.csv"],
    ["a host that only ends in the suffix's text", "https://evilwavy.global/sessions.csv"],
    ["the suffix inside another domain", "https://files.wavy.global.evil.example/sessions.csv"],
    ["a host with a trailing dot", "https://files.wavy.global./sessions.csv"],
    ["http for an https entry", "http://chatclub-cdn.wavy.global/sessions.csv"],
    ["another port than the scheme's default", "https://chatclub-cdn.wavy.global:8443/x.csv"],
    ["a user name", "https://user@chatclub-cdn.wavy.global/sessions.csv"],
    ["a password alone", "https://:secret@chatclub-cdn.wavy.global/sessions.csv"],
    ["the allowed host as a user name", "https://chatclub-cdn.wavy.global@evil.example/x.csv"],
  ])("refuses %s under the default list", (_name, link) => {
    expect(allows(DEFAULT, link)).toBe(false);
  });

  it("takes the scheme's default port written out or left out alike", () => {
    expect(allows("https://files.example", "https://files.example:443/x.csv")).toBe(true);
    expect(allows("https://files.example:443", "https://files.example/x.csv")).toBe(true);
    expect(allows("http://files.example", "http://files.example:80/x.csv")).toBe(true);
  });

  it("allows only the entry's own port and scheme for an origin with a port", () => {
    const list = "http://127.0.0.1:9000";
    expect(allows(list, "http://127.0.0.1:9000/x.csv")).toBe(true);
    expect(allows(list, "http://127.0.0.1:9001/x.csv")).toBe(false);
    expect(allows(list, "http://127.0.0.1/x.csv")).toBe(false);
    expect(allows(list, "https://127.0.0.1:9000/x.csv")).toBe(false);
  });

  it("matches a loopback literal by address, never by another name for it", () => {
    const list = "http://127.0.0.1:9000";
    expect(allows(list, "http://0x7f000001:9000/x.csv")).toBe(true);
    expect(allows(list, "http://localhost:9000/x.csv")).toBe(false);
    expect(allows(list, "http://127.0.0.2:9000/x.csv")).toBe(false);
    expect(allows(list, "http://[::1]:9000/x.csv")).toBe(false);
    expect(allows("http://[::1]:9000", "http://[0:0::1]:9000/x.csv")).toBe(true);
  });

  it("applies a wildcard at any depth with the entry's port", () => {
    const list = "http://*.wavy.test:9000";
    expect(allows(list, "http://csv.wavy.test:9000/x.csv")).toBe(true);
    expect(allows(list, "http://a.b.csv.wavy.test:9000/x.csv")).toBe(true);
    expect(allows(list, "http://wavy.test:9000/x.csv")).toBe(false);
    expect(allows(list, "http://csv.wavy.test/x.csv")).toBe(false);
  });

  it("allows nothing under an empty list of origins", () => {
    expect(isAllowedUrl(new URL("https://chatclub-cdn.wavy.global/x.csv"), [])).toBe(false);
  });
});
