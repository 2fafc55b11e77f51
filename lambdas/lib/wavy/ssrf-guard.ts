import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { Duplex } from "node:stream";
import ipaddr from "ipaddr.js";
import type { HttpAgents } from "./http.js";
import type { AllowedOrigin } from "./origins.js";

/**
 * The network half of the CSV link's guard (the allow-list in origins.ts is the other half).
 * An allowed *name* may still resolve to an address inside the network the Lambda runs in
 * (a dangling or hijacked DNS record under *.wavy.global, or a rebinding attack): the metadata
 * service at 169.254.169.254, a VPC endpoint, loopback. So the download's connections resolve
 * names here, refuse any special-purpose address, and connect to exactly the address that was
 * checked: there is no second lookup between check and connect for DNS rebinding to slip into.
 *
 * The one exception is an origin whose host is an IP literal listed exactly, such as
 * `http://127.0.0.1:PORT` for local runs: the operator wrote that address on purpose. A *name*
 * is never trusted this way, not even an exact one (the default list names
 * chatclub-cdn.wavy.global exactly, and its DNS is no more ours than *.wavy.global's); to
 * reach an internal host, list its address.
 */

/** `dns.lookup`'s shape, the one Node's `net.connect` calls; tests pass their own. */
export type HostLookup = (
  hostname: string,
  options: { all: true; family?: number; hints?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: HostLookup = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/** Thrown (as a connect error) when a CSV host resolves somewhere it must not. */
export class ForbiddenAddressError extends Error {
  readonly code = "ERR_FORBIDDEN_ADDRESS";

  constructor(hostname: string, range: string) {
    // The host is from the (already allow-listed) link; the address itself is not echoed.
    super(`${hostname} resolves to a ${range} address, which the CSV download may not reach`);
    this.name = "ForbiddenAddressError";
  }
}

/**
 * The address's special-purpose range (ipaddr.js names: loopback, private, linkLocal,
 * uniqueLocal, carrierGradeNat, reserved, ...), or undefined for a public unicast address.
 * IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
 */
export function specialRange(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address.replace(/^\[|\]$/g, ""));
  } catch {
    return "unparseable";
  }
  const range = parsed.range();
  if (range !== "unicast") return range;
  // ipaddr.js calls everything it has no name for "unicast"; only 2000::/3 is global unicast.
  if (parsed.kind() === "ipv6" && !parsed.match(ipaddr.IPv6.parse("2000::"), 3)) {
    return "non-global IPv6";
  }
  return undefined;
}

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, "").toLowerCase();
}

/** IP literals the allow-list names exactly: the only special addresses the download may reach. */
function listedAddresses(origins: readonly AllowedOrigin[]): Set<string> {
  return new Set(
    origins
      .filter((origin) => !origin.wildcard && isIP(bare(origin.host)) !== 0)
      .map((origin) => bare(origin.host)),
  );
}

export interface GuardOptions {
  origins: readonly AllowedOrigin[];
  /** Name resolution; `dns.lookup` by default. */
  lookup?: HostLookup;
}

/** A `lookup` for `net.connect` that resolves, checks every address, and returns only checked ones. */
export function guardedLookup(resolve: HostLookup = systemLookup): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    const family = typeof lookupOptions.family === "number" ? lookupOptions.family : undefined;
    resolve(hostname, { all: true, family, hints: lookupOptions.hints }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      if (addresses.length === 0) {
        return callback(
          Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }),
          "",
          0,
        );
      }
      // One bad record refuses them all: a mixed answer is the classic rebinding setup.
      for (const { address } of addresses) {
        const range = specialRange(address);
        if (range) return callback(new ForbiddenAddressError(hostname, range), "", 0);
      }
      if (lookupOptions.all) return callback(null, addresses);
      const [first] = addresses as [LookupAddress];
      return callback(null, first.address, first.family);
    });
  };
}

/** How an agent's createConnection reports the socket it made, or the error instead of one. */
type ConnectCallback = (error: Error | null, socket: Duplex) => void;

/**
 * Fails the connection: the agent fails the request with this error, and nothing is dialled.
 * Node passes no socket with an error; @types/node's callback type insists on one.
 */
function refuse(callback: ConnectCallback | undefined, error: Error): undefined {
  (callback as ((error: Error) => void) | undefined)?.(error);
  return undefined;
}

/**
 * net.connect never looks an IP literal up, so the guarded lookup never sees one: the agents
 * check it here. Undefined when the connection may go ahead.
 */
function literalRefusal(
  host: string | null | undefined,
  trusted: ReadonlySet<string>,
): ForbiddenAddressError | undefined {
  const address = bare(host ?? "");
  if (isIP(address) === 0 || trusted.has(address)) return undefined;
  const range = specialRange(address);
  return range ? new ForbiddenAddressError(address, range) : undefined;
}

/** Connection options both guarded agents use: keep-alive, and names resolved by the guard. */
function agentOptions(resolve: HostLookup | undefined): http.AgentOptions {
  // Agent options override the request's when the socket is created, so every connection
  // these agents open resolves through the guard, whatever the request asked for.
  return { keepAlive: true, timeout: 4_000, lookup: guardedLookup(resolve) };
}

class GuardedHttpAgent extends http.Agent {
  constructor(
    private readonly trusted: ReadonlySet<string>,
    resolve: HostLookup | undefined,
  ) {
    super(agentOptions(resolve));
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: ConnectCallback,
  ): Duplex | null | undefined {
    const refusal = literalRefusal(options.host, this.trusted);
    if (refusal) return refuse(callback, refusal);
    return super.createConnection(options, callback);
  }
}

class GuardedHttpsAgent extends https.Agent {
  constructor(
    private readonly trusted: ReadonlySet<string>,
    resolve: HostLookup | undefined,
  ) {
    super(agentOptions(resolve));
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: ConnectCallback,
  ): Duplex | null | undefined {
    const refusal = literalRefusal(options.host, this.trusted);
    if (refusal) return refuse(callback, refusal);
    return super.createConnection(options, callback);
  }
}

/**
 * The agents the CSV download uses: Node's own connections (TLS, keep-alive) with the guarded
 * lookup, plus a check of IP-literal hosts, which `net.connect` never looks up.
 */
export function createGuardedAgents(options: GuardOptions): HttpAgents {
  const trusted = listedAddresses(options.origins);
  return {
    http: new GuardedHttpAgent(trusted, options.lookup),
    https: new GuardedHttpsAgent(trusted, options.lookup),
  };
}

const shared = new WeakMap<readonly AllowedOrigin[], HttpAgents>();

/** One pair of guarded agents per allow-list (the config parses it once), so connections are reused. */
export function guardedAgentsFor(origins: readonly AllowedOrigin[]): HttpAgents {
  let agents = shared.get(origins);
  if (!agents) {
    agents = createGuardedAgents({ origins });
    shared.set(origins, agents);
  }
  return agents;
}
