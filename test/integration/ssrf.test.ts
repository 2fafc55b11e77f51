import type { LookupAddress } from "node:dns";
import { once } from "node:events";
import http, { createServer, type Server } from "node:http";
import https from "node:https";
import net, { type AddressInfo, type LookupFunction } from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Deadline } from "../../lambdas/lib/clock.js";
import { UpstreamError } from "../../lambdas/lib/errors.js";
import { openCsvDownload } from "../../lambdas/lib/wavy/download.js";
import { type HttpAgents, httpGet } from "../../lambdas/lib/wavy/http.js";
import { type AllowedOrigin, parseAllowedOrigins } from "../../lambdas/lib/wavy/origins.js";
import {
  createGuardedAgents,
  guardedLookup,
  type HostLookup,
  specialRange,
} from "../../lambdas/lib/wavy/ssrf-guard.js";

/**
 * The CSV link is untrusted: whatever Wavy (or whoever answers as Wavy) puts in file_url, or in a
 * redirect, must not reach anything but the allowed origins. Every case asserts that nothing was
 * sent anywhere: no connection to the recording server, no connect attempt at all.
 *
 * Safety net: whatever the code under test does, these tests can only ever open connections to
 * loopback. net.connect, tls.connect and http.Agent's createConnection (what node:http(s) calls)
 * are wrapped so that a connection to
 * any other address fails before a packet leaves, and is recorded as a test failure.
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const DEFAULT_ORIGINS = "https://chatclub-cdn.wavy.global,https://*.wavy.global";

const escaped: string[] = [];
const realNetConnect = net.connect;
const realTlsConnect = tls.connect;
const realAgentConnect = http.Agent.prototype.createConnection;

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === "::1" || /^::ffff:127\./i.test(address);
}

/** Wraps the connect options so that only loopback addresses can ever be dialled. */
function loopbackOnly<T extends { host?: string | null; lookup?: LookupFunction }>(options: T): T {
  const host = (options.host ?? "").replace(/^\[|\]$/g, "");
  if (net.isIP(host) !== 0 && !isLoopback(host)) {
    escaped.push(host);
    return { ...options, host: "127.0.0.1", port: 9 };
  }
  // No lookup given means the system resolver, i.e. a DNS query: not from these tests.
  const inner: LookupFunction =
    options.lookup ??
    ((hostname, _lookupOptions, callback) => {
      escaped.push(hostname);
      callback(new Error("test safety net: refused a DNS query"), "", 0);
    });
  const lookup: LookupFunction = (hostname, lookupOptions, callback) =>
    inner(hostname, lookupOptions, (error, address, family) => {
      const list: LookupAddress[] = Array.isArray(address)
        ? address
        : [{ address: String(address), family: family ?? 4 }];
      const outside = error ? [] : list.filter((entry) => !isLoopback(entry.address));
      if (outside.length > 0) {
        escaped.push(...outside.map((entry) => entry.address));
        return callback(new Error("test safety net: refused a non-loopback address"), "", 0);
      }
      return callback(error, address as string, family);
    });
  return { ...options, lookup };
}

/** A loopback HTTP server that counts every TCP connection it is offered. */
async function recordingServer(): Promise<{ server: Server; port: number; connections: number }> {
  const state = { server: createServer(), port: 0, connections: 0 };
  state.server.on("connection", () => {
    state.connections += 1;
  });
  state.server.on("request", (_req, res) => {
    res.writeHead(200, { "content-type": "text/csv" }).end(CSV);
  });
  state.server.listen(0, "127.0.0.1");
  await once(state.server, "listening");
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

/**
 * Agents that send every connection, whatever the host, to the recording server (over plain
 * TCP, https included) and record the host they were asked for: if a link slips past the
 * allow-list, the test sees it, and the bytes still go nowhere but loopback.
 */
function divertingAgents(port: number, attempts: string[]): HttpAgents {
  const createConnection = (options: http.ClientRequestArgs): net.Socket => {
    attempts.push(options.host ?? "");
    return realNetConnect({ host: "127.0.0.1", port });
  };
  return {
    http: Object.assign(new http.Agent(), { createConnection }),
    https: Object.assign(new https.Agent(), { createConnection }),
  };
}

async function download(
  link: string,
  origins: readonly AllowedOrigin[],
  agents: HttpAgents,
): Promise<string> {
  const stream = await openCsvDownload(new URL(link), {
    origins,
    deadline: new Deadline(2000),
    maxBytes: 1024 * 1024,
    agents,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

let recorder: Awaited<ReturnType<typeof recordingServer>>;

beforeAll(async () => {
  recorder = await recordingServer();
  Object.assign(net, {
    connect: (...args: Parameters<typeof net.connect>) => {
      const [first, ...rest] = args;
      if (typeof first !== "object" || first === null) return realNetConnect(...args);
      return (realNetConnect as (...a: unknown[]) => net.Socket)(
        loopbackOnly(first as net.TcpNetConnectOpts),
        ...rest,
      );
    },
  });
  Object.assign(tls, {
    connect: (...args: Parameters<typeof tls.connect>) => {
      const [first, ...rest] = args;
      if (typeof first !== "object" || first === null) return realTlsConnect(...args);
      return (realTlsConnect as (...a: unknown[]) => tls.TLSSocket)(
        loopbackOnly(first as tls.ConnectionOptions & { lookup?: LookupFunction }),
        ...rest,
      );
    },
  });
  // http.Agent dials with the net.createConnection it captured at load, not net.connect.
  http.Agent.prototype.createConnection = function (options, callback) {
    return realAgentConnect.call(this, loopbackOnly(options), callback);
  };
});

afterAll(async () => {
  Object.assign(net, { connect: realNetConnect });
  Object.assign(tls, { connect: realTlsConnect });
  http.Agent.prototype.createConnection = realAgentConnect;
  recorder.server.closeAllConnections();
  await new Promise((resolve) => recorder.server.close(resolve));
});

afterEach(() => {
  // The safety net must never have had to act: that would be traffic the guard let through.
  expect(escaped).toEqual([]);
});

/** Links the default allow-list must refuse, by family; the counts go into docs/security.md. */
const DEFAULT_LIST_REFUSALS: Array<[family: string, link: string]> = [
  ["userinfo", "https://chatclub-cdn.wavy.global@evil.example/file.csv"],
  ["userinfo", "https://chatclub-cdn.wavy.global:443@evil.example/file.csv"],
  ["userinfo", "https://user:secret@chatclub-cdn.wavy.global/file.csv"],
  ["userinfo", "https://evil.example\\@chatclub-cdn.wavy.global/file.csv"],
  ["userinfo", "https://evil.example#@chatclub-cdn.wavy.global/file.csv"],
  ["look-alike", "https://chatclub-cdn.wavy.global.evil.example/file.csv"],
  ["look-alike", "https://evilwavy.global/file.csv"],
  ["look-alike", "https://wavy.global/file.csv"],
  ["look-alike", "https://chatclub-cdn-wavy.global/file.csv"],
  ["look-alike", "https://wavy.global.evil.example/file.csv"],
  ["look-alike", "https://chatclub-cdn.wavy.global./file.csv"],
  ["look-alike", "https://chatclub-cdn.wavy.glοbal/file.csv"], // Greek omicron: punycode
  ["look-alike", "https://chatclub-cdn.wavy.gl0bal/file.csv"],
  ["ip literal", "https://2130706433/file.csv"],
  ["ip literal", "https://0x7f000001/file.csv"],
  ["ip literal", "https://0177.0.0.1/file.csv"],
  ["ip literal", "https://0x7f.0.0.1/file.csv"],
  ["ip literal", "https://127.1/file.csv"],
  ["ip literal", "https://127.0.0.1/file.csv"],
  ["ip literal", "https://0/file.csv"],
  ["ip literal", "https://10.0.0.1/file.csv"],
  ["ip literal", "https://169.254.169.254/latest/meta-data/"],
  ["ip literal", "https://2852039166/latest/meta-data/"],
  ["ip literal", "https://[::1]/file.csv"],
  ["ip literal", "https://[::ffff:127.0.0.1]/file.csv"],
  ["ip literal", "https://[::ffff:7f00:1]/file.csv"],
  ["ip literal", "https://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data/"],
  ["ip literal", "https://[fd00:ec2::254]/latest/meta-data/"],
  ["scheme downgrade", "http://chatclub-cdn.wavy.global/file.csv"],
  ["scheme downgrade", "http://files.wavy.global/file.csv"],
  ["other port", "https://chatclub-cdn.wavy.global:8443/file.csv"],
  ["other port", "https://chatclub-cdn.wavy.global:80/file.csv"],
  ["other port", "https://files.wavy.global:22/file.csv"],
  ["scheme", "file:///etc/passwd"],
  ["scheme", "file://chatclub-cdn.wavy.global/etc/passwd"],
  ["scheme", "data:text/csv,source%3Bsession_created_at%0A1%3B2"],
  ["scheme", "ftp://chatclub-cdn.wavy.global/file.csv"],
  ["scheme", "gopher://chatclub-cdn.wavy.global:70/_GET"],
  ["scheme", "ws://chatclub-cdn.wavy.global/file.csv"],
  ["scheme", "blob:https://chatclub-cdn.wavy.global/0e6b1f1e"],
  ["scheme", "javascript:alert(1)"],
];

describe("CSV link with the default allow-list", () => {
  const origins = parseAllowedOrigins(DEFAULT_ORIGINS);

  it.each(DEFAULT_LIST_REFUSALS)("refuses %s %s before sending anything", async (_family, link) => {
    const attempts: string[] = [];
    const before = recorder.connections;

    await expect(download(link, origins, divertingAgents(recorder.port, attempts))).rejects.toThrow(
      /outside the allowed download origins/,
    );

    expect(attempts).toEqual([]);
    expect(recorder.connections).toBe(before);
  });

  it.each(DEFAULT_LIST_REFUSALS)("refuses a redirect to %s %s", async (_family, link) => {
    // The first hop is allowed; the second must be checked again (docs/contract.md, "Download origins").
    const attempts: string[] = [];
    const hop = await redirectingServer(link);
    try {
      const origins = parseAllowedOrigins(`${DEFAULT_ORIGINS},${hop.origin}`);

      const port = Number(new URL(hop.origin).port);
      await expect(
        download(`${hop.origin}/start`, origins, divertingAgents(port, attempts)),
      ).rejects.toThrow(/outside the allowed download origins|redirected to an invalid URL/);

      expect(hop.requests).toBe(1);
      expect(attempts).toEqual(["127.0.0.1"]);
    } finally {
      await hop.close();
    }
  });

  it("accepts the documented link shape and subdomains at any depth (control)", async () => {
    const attempts: string[] = [];
    for (const link of [
      "https://chatclub-cdn.wavy.global/2019/02/13/a/b",
      "https://CHATCLUB-CDN.wavy.global:443/x",
      "https://a.b.c.wavy.global/x",
    ]) {
      // Diverted to the loopback recorder over plain TCP: that it *tried* is the point.
      await download(link, origins, divertingAgents(recorder.port, attempts)).catch(() => {});
    }
    expect(attempts).toEqual([
      "chatclub-cdn.wavy.global",
      "chatclub-cdn.wavy.global",
      "a.b.c.wavy.global",
    ]);
  });
});

describe("CSV link with a loopback allow-list (local runs)", () => {
  let origins: AllowedOrigin[];
  let refusals: string[];

  beforeAll(() => {
    const p = recorder.port;
    origins = parseAllowedOrigins(`http://127.0.0.1:${p}`);
    refusals = [
      `http://localhost:${p}/file.csv`,
      `http://127.0.0.2:${p}/file.csv`,
      `http://[::1]:${p}/file.csv`,
      `http://[::ffff:127.0.0.1]:${p}/file.csv`,
      `http://0.0.0.0:${p}/file.csv`,
      `http://127.0.0.1.nip.io:${p}/file.csv`,
      `https://127.0.0.1:${p}/file.csv`,
      `http://127.0.0.1:${p + 1}/file.csv`,
      "http://127.0.0.1/file.csv",
      `http://2130706433:${p + 1}/file.csv`,
      `http://user@127.0.0.1:${p}/file.csv`,
      `http://127.0.0.1:${p}@evil.example/file.csv`,
      "file://127.0.0.1/etc/passwd",
      `ftp://127.0.0.1:${p}/file.csv`,
    ];
  });

  it("refuses every other host, scheme, port or userinfo before connecting", async () => {
    for (const link of refusals) {
      const attempts: string[] = [];
      const before = recorder.connections;
      await expect(
        download(link, origins, divertingAgents(recorder.port, attempts)),
        link,
      ).rejects.toThrow(/outside the allowed download origins/);
      expect(attempts, link).toEqual([]);
      expect(recorder.connections, link).toBe(before);
    }
    expect(refusals).toHaveLength(14);
  });

  it("accepts the configured origin in any notation the URL parser canonicalises to it", async () => {
    const p = recorder.port;
    for (const link of [
      `http://127.0.0.1:${p}/a`,
      `http://2130706433:${p}/a`,
      `http://0x7f.0.0.1:${p}/a`,
      `http://0177.0.0.1:${p}/a`,
    ]) {
      // The real guarded agents: an exactly listed IP literal is trusted.
      const body = await download(link, origins, createGuardedAgents({ origins }));
      expect(body, link).toBe(CSV);
    }
  });
});

/** The lookup tests hand the guard: one allow-listed name mapped to whatever the test says. */
function fakeLookup(answers: Record<string, string[]>, calls: string[]): HostLookup {
  return (hostname, _options, callback) => {
    calls.push(hostname);
    const addresses = answers[hostname];
    if (!addresses) {
      const error = Object.assign(new Error("not found"), { code: "ENOTFOUND" });
      return callback(error, []);
    }
    callback(
      null,
      addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 })),
    );
  };
}

describe("an allow-listed host whose DNS points inside the network", () => {
  const SPECIAL = [
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["192.0.2.10", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:169.254.169.254", "linkLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["fe80::1", "linkLocal"],
    ["64:ff9b::a9fe:a9fe", "rfc6052"],
    ["2002:7f00:1::", "6to4"],
    ["::7f00:1", "non-global IPv6"],
  ] as const;

  it.each(SPECIAL)("classifies %s as %s", (address, range) => {
    expect(specialRange(address)).toBe(range);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700::1111"])("classifies %s as public", (address) => {
    expect(specialRange(address)).toBeUndefined();
  });

  it.each(SPECIAL)("the lookup refuses a name resolving to %s (%s)", async (address) => {
    const lookup = guardedLookup(fakeLookup({ "files.wavy.global": [address] }, []));
    const error = await new Promise<Error | null>((resolve) =>
      lookup("files.wavy.global", { all: true }, (failure) => resolve(failure)),
    );
    expect(error?.message).toMatch(/may not reach/);
  });

  it("refuses a mixed answer (one public, one private address): rebinding's usual setup", async () => {
    const lookup = guardedLookup(
      fakeLookup({ "files.wavy.global": ["93.184.216.34", "10.0.0.1"] }, []),
    );
    const error = await new Promise<Error | null>((resolve) =>
      lookup("files.wavy.global", { all: true }, (failure) => resolve(failure)),
    );
    expect(error?.message).toMatch(/private address/);
  });

  it("passes a public answer through unchanged, single or all", async () => {
    const lookup = guardedLookup(
      fakeLookup({ "files.wavy.global": ["93.184.216.34", "2606:4700::1111"] }, []),
    );
    const all = await new Promise((resolve) =>
      lookup("files.wavy.global", { all: true }, (_e, addresses) => resolve(addresses)),
    );
    const one = await new Promise((resolve) =>
      lookup("files.wavy.global", {}, (_e, address, family) => resolve([address, family])),
    );
    expect(all).toEqual([
      { address: "93.184.216.34", family: 4 },
      { address: "2606:4700::1111", family: 6 },
    ]);
    expect(one).toEqual(["93.184.216.34", 4]);
  });

  // End to end through the real agents: the wildcard entry carries the recorder's port, so
  // a guard that let the address through would land on the recorder (for loopback answers) or
  // on the safety net (for the others), and the test would see it either way.
  it.each([
    ["127.0.0.1"],
    ["10.0.0.1"],
    ["169.254.169.254"],
    ["::ffff:127.0.0.1"],
    ["fd00:ec2::254"],
  ])("the download never connects when the name resolves to %s", async (address) => {
    const origins = parseAllowedOrigins(`http://*.wavy.global:${recorder.port}`);
    const calls: string[] = [];
    const agents = createGuardedAgents({
      origins,
      lookup: fakeLookup({ "files.wavy.global": [address] }, calls),
    });
    const before = recorder.connections;

    const failure = download(`http://files.wavy.global:${recorder.port}/x.csv`, origins, agents);

    await expect(failure).rejects.toBeInstanceOf(UpstreamError);
    await expect(failure).rejects.toThrow(/may not reach/);
    expect(calls).toEqual(["files.wavy.global"]);
    expect(recorder.connections).toBe(before);
  });

  it("the same holds over https with the default allow-list", async () => {
    const origins = parseAllowedOrigins(DEFAULT_ORIGINS);
    const calls: string[] = [];
    const agents = createGuardedAgents({
      origins,
      lookup: fakeLookup({ "chatclub-cdn.wavy.global": ["169.254.169.254"] }, calls),
    });

    await expect(
      download("https://chatclub-cdn.wavy.global/2019/02/13/a/b", origins, agents),
    ).rejects.toThrow(/linkLocal address, which the CSV download may not reach/);
    expect(calls).toEqual(["chatclub-cdn.wavy.global"]);
  });

  it("connects to exactly the address it checked: a rebinding resolver gets one question", async () => {
    // First answer public, every later one loopback: a guard that checked with one lookup and
    // connected with another would dial loopback. The safety net stops the (public) dial that
    // must happen, before any packet, and records where it was headed.
    const origins = parseAllowedOrigins(`http://*.wavy.global:${recorder.port}`);
    const calls: string[] = [];
    const rebinding: HostLookup = (hostname, _options, callback) => {
      calls.push(hostname);
      const address = calls.length === 1 ? "93.184.216.34" : "127.0.0.1";
      callback(null, [{ address, family: 4 }]);
    };
    const agents = createGuardedAgents({ origins, lookup: rebinding });
    const before = recorder.connections;

    await expect(
      download(`http://files.wavy.global:${recorder.port}/x.csv`, origins, agents),
    ).rejects.toBeInstanceOf(UpstreamError);

    expect(calls).toEqual(["files.wavy.global"]);
    expect(escaped.splice(0)).toEqual(["93.184.216.34"]);
    expect(recorder.connections).toBe(before);
  });

  it("refuses a name even when the allow-list lists it exactly; only a listed IP literal is trusted", async () => {
    const origins = parseAllowedOrigins(`http://csv.wavy.test:${recorder.port}`);
    const agents = createGuardedAgents({
      origins,
      lookup: fakeLookup({ "csv.wavy.test": ["127.0.0.1"] }, []),
    });
    const before = recorder.connections;

    await expect(
      download(`http://csv.wavy.test:${recorder.port}/x.csv`, origins, agents),
    ).rejects.toThrow(/loopback address/);
    expect(recorder.connections).toBe(before);
  });

  it("refuses an IP-literal host outside the exact entries even if the allow-list were bypassed", async () => {
    // Defence in depth: net.connect never looks an IP literal up, so the agents check it.
    const origins = parseAllowedOrigins(`http://*.wavy.global:${recorder.port}`);
    const agents = createGuardedAgents({ origins });
    const get = (link: string) =>
      httpGet(new URL(link), { headers: {}, signal: new AbortController().signal, agents });
    const before = recorder.connections;

    await expect(get(`http://127.0.0.1:${recorder.port}/x.csv`)).rejects.toThrow(
      /loopback address/,
    );
    await expect(get(`http://[::1]:${recorder.port}/x.csv`)).rejects.toThrow(/loopback address/);
    await expect(get("https://169.254.169.254/latest/meta-data/")).rejects.toThrow(
      /linkLocal address/,
    );
    await expect(get("https://[fd00:ec2::254]/latest/meta-data/")).rejects.toThrow(
      /uniqueLocal address/,
    );
    expect(recorder.connections).toBe(before);
  });
});

/** A loopback server whose one path redirects to `location`; counts requests. */
async function redirectingServer(
  location: string,
): Promise<{ origin: string; requests: number; close: () => Promise<void> }> {
  const state = { origin: "", requests: 0, close: async () => {} };
  const server = createServer((_req, res) => {
    state.requests += 1;
    // A header is ASCII: a link with a homoglyph goes out as the URL parser spells it (punycode).
    res.writeHead(302, { location: new URL(location).href }).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
