/**
 * The allow-list for CSV links (WAVY_DOWNLOAD_ORIGINS). A Wavy answer is untrusted input:
 * its file_url may only point at a listed origin, and so may every redirect hop.
 *
 * Entries: `https://host` (exactly that host), `https://*.suffix` (any depth of subdomain of
 * suffix, not suffix itself), or a full origin with a port such as `http://127.0.0.1:9000`.
 * The port must be the entry's (the scheme's default when the entry names none).
 */
export interface AllowedOrigin {
  readonly protocol: "https:" | "http:";
  /** Lowercase host name; for wildcards, the suffix without the leading `*.`. */
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: string;
}

const ENTRY = /^(https?):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?\/?$/i;

const DEFAULT_PORTS: Record<string, string> = { "https:": "443", "http:": "80" };

export function parseAllowedOrigins(list: string): AllowedOrigin[] {
  const entries = list
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new Error("lists no origin");
  return entries.map((entry) => {
    const match = ENTRY.exec(entry);
    if (!match) throw new Error(`has an entry that is not an origin: "${entry}"`);
    const [, scheme = "", wildcard, host = "", port] = match;
    // A port no link can carry (0, 99999) or one written `0443` would silently never match.
    if (port !== undefined && (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65_535)) {
      throw new Error(`has an entry whose port is not valid: "${entry}"`);
    }
    const protocol = `${scheme.toLowerCase()}:` as AllowedOrigin["protocol"];
    return {
      protocol,
      host: canonicalHost(protocol, host, wildcard !== undefined),
      wildcard: wildcard !== undefined,
      port: port ?? DEFAULT_PORTS[protocol] ?? "",
    };
  });
}

/**
 * The host as the WHATWG URL parser writes it, which is how a link's host is compared: an entry
 * written `0x7f000001` or `[0:0::1]` must mean the host a link parses to, not a string no link
 * can ever equal.
 */
function canonicalHost(protocol: string, host: string, wildcard: boolean): string {
  try {
    const parsed = new URL(`${protocol}//${wildcard ? `x.${host}` : host}/`).hostname;
    return wildcard ? parsed.slice(2) : parsed;
  } catch {
    throw new Error(`has an entry whose host is not valid: "${host}"`);
  }
}

/** The effective port of a parsed URL (WHATWG URL leaves it empty for the default). */
function portOf(url: URL): string {
  return url.port || DEFAULT_PORTS[url.protocol] || "";
}

export function isAllowedUrl(url: URL, origins: readonly AllowedOrigin[]): boolean {
  // Credentials in a link are a classic trick (`https://good@evil/`); nothing legitimate uses them.
  if (url.username !== "" || url.password !== "") return false;
  const host = url.hostname.toLowerCase();
  const port = portOf(url);
  return origins.some((origin) => {
    if (origin.protocol !== url.protocol || origin.port !== port) return false;
    return origin.wildcard ? host.endsWith(`.${origin.host}`) : host === origin.host;
  });
}
