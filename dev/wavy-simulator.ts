import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { closeServer, listenOnLoopback } from "./loopback.js";

/**
 * A Wavy Messaging stand-in over real HTTP on loopback: GET /v1/session answers a file_url on
 * this same server, GET /files/:name serves the CSV. Tests script both sides: the session
 * answer per call, and how the file is served (whole, cut off, slow, redirected...).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  /** Whether the connection had carried an earlier request (the client reused it). */
  reusedConnection: boolean;
}

export type SessionReply =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { hang: true }
  | { destroy: true };

export type CsvSource = string | Buffer | (() => string | Buffer);

export type FileHandler = (req: IncomingMessage, res: ServerResponse, sim: WavySimulator) => void;

export interface WavySimulatorOptions {
  userName?: string;
  authenticationToken?: string;
  /** The CSV for a target, keyed `customerId` or `customerId/subAccountId`; a function is called per request. */
  csvByTarget?: Record<string, CsvSource>;
}

export class WavySimulator {
  readonly requests: RecordedRequest[] = [];
  credentials: { userName: string; authenticationToken: string };
  csvByTarget: Map<string, CsvSource>;
  private readonly sessionReplies: SessionReply[] = [];
  private readonly files = new Map<string, FileHandler>();
  private server: Server | undefined;
  private nextFile = 0;
  private readonly usedSockets = new WeakSet<Socket>();
  baseUrl = "";

  constructor(options: WavySimulatorOptions = {}) {
    this.credentials = {
      userName: options.userName ?? "sim-user",
      authenticationToken: options.authenticationToken ?? "sim-token-0123456789",
    };
    this.csvByTarget = new Map(Object.entries(options.csvByTarget ?? {}));
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.baseUrl = await listenOnLoopback(this.server, port);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Scripts the next /v1/session answers, in order; afterwards the default behaviour resumes. */
  replySession(...replies: SessionReply[]): void {
    this.sessionReplies.push(...replies);
  }

  /** Serves `/files/<name>` with a handler; returns the file's URL. */
  serveFile(handler: FileHandler, name = `custom-${this.nextFile++}`): string {
    this.files.set(name, handler);
    return `${this.baseUrl}/files/${name}`;
  }

  /** The next session answer links to this URL. */
  linkTo(fileUrl: string): void {
    this.replySession({ status: 200, body: JSON.stringify({ file_url: fileUrl }) });
  }

  sessionCalls(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === "/v1/session");
  }

  fileCalls(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith("/files/"));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.baseUrl);
    this.requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      reusedConnection: this.usedSockets.has(req.socket),
    });
    this.usedSockets.add(req.socket);
    const file = /^\/files\/([^/]+)$/.exec(url.pathname)?.[1];
    const handler = file ? this.files.get(file) : undefined;
    if (url.pathname === "/v1/session") this.session(req, res, url);
    else if (handler) handler(req, res, this);
    else res.writeHead(404).end();
  }

  private session(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const scripted = this.sessionReplies.shift();
    if (scripted) {
      if ("hang" in scripted) return;
      if ("destroy" in scripted) {
        req.socket.destroy();
        return;
      }
      res.writeHead(scripted.status, { "content-type": "application/json", ...scripted.headers });
      res.end(scripted.body ?? "");
      return;
    }
    const { userName, authenticationToken } = this.credentials;
    if (
      req.headers.username !== userName ||
      req.headers.authenticationtoken !== authenticationToken
    ) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
      return;
    }
    const customerId = url.searchParams.get("customerId");
    if (!customerId) {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"error":"customerId is required"}');
      return;
    }
    const subAccountId = url.searchParams.get("subAccountId");
    const key = subAccountId ? `${customerId}/${subAccountId}` : customerId;
    const source = this.csvByTarget.get(key) ?? "source;session_created_at\n";
    const csv = typeof source === "function" ? source() : source;
    const fileUrl = this.serveFile((_req, fileRes) => {
      fileRes.writeHead(200, { "content-type": "text/csv" });
      fileRes.end(csv);
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ file_url: fileUrl }));
  }
}
