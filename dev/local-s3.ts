import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

/**
 * s3rver (a real S3-protocol server, objects on disk) behind a thin front on loopback that
 * (1) answers AbortMultipartUpload, which s3rver lacks, (2) keeps a ledger of multipart
 * uploads so tests can prove none stays open, (3) lets a test inject faults, and (4) honours
 * conditional PUTs (`If-None-Match: *`, `If-Match: <etag>`), which S3 supports and s3rver
 * ignores (it reads those headers on GET only): the Idempotency-Key records rely on them.
 */
export interface LocalS3Options {
  buckets?: string[];
  /** Keep objects here; a fresh temporary folder (removed on stop) by default. */
  directory?: string;
  port?: number;
}

/** A status to answer with, "destroy" to drop the connection, "hang" to never answer. */
export type FaultRule = (req: IncomingMessage) => number | "destroy" | "hang" | undefined;

export class LocalS3 {
  endpoint = "";
  readonly openUploads = new Map<string, string>();
  readonly abortedUploads: string[] = [];
  private s3rver: S3rver | undefined;
  private front: Server | undefined;
  private backendPort = 0;
  private directory = "";
  private ownsDirectory = false;
  private faults: FaultRule[] = [];
  /** Object paths with a conditional PUT in flight: check and write are one step per path. */
  private readonly conditionalWrites = new Set<string>();

  constructor(private readonly options: LocalS3Options = {}) {}

  async start(): Promise<this> {
    this.ownsDirectory = !this.options.directory;
    this.directory = this.options.directory ?? (await mkdtemp(join(tmpdir(), "wavy-s3-")));
    this.s3rver = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: this.directory,
      configureBuckets: (this.options.buckets ?? []).map((name) => ({ name, configs: [] })),
    });
    const info = (await this.s3rver.run()) as AddressInfo | [string, number];
    this.backendPort = Array.isArray(info) ? info[1] : info.port;

    this.front = createServer((req, res) => this.forward(req, res));
    this.front.listen(this.options.port ?? 0, "127.0.0.1");
    await once(this.front, "listening");
    this.endpoint = `http://127.0.0.1:${(this.front.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.front?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.front ? this.front.close(() => resolve()) : resolve(),
    );
    await this.s3rver?.close();
    if (this.ownsDirectory) await rm(this.directory, { recursive: true, force: true });
  }

  /** Every request is offered to the rules first; the first answer wins. */
  injectFault(rule: FaultRule): void {
    this.faults.push(rule);
  }

  clearFaults(): void {
    this.faults = [];
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.endpoint);
    for (const rule of this.faults) {
      const fault = rule(req);
      if (fault === "destroy") return void req.socket.destroy();
      if (fault === "hang") return void req.resume();
      if (fault !== undefined) {
        req.resume();
        res.writeHead(fault, { "content-type": "application/xml" });
        res.end(`<Error><Code>InjectedFault</Code><Message>injected ${fault}</Message></Error>`);
        return;
      }
    }
    const uploadId = url.searchParams.get("uploadId");
    if (req.method === "DELETE" && uploadId) {
      this.openUploads.delete(uploadId);
      this.abortedUploads.push(uploadId);
      req.resume();
      res.writeHead(204).end();
      return;
    }
    const conditional =
      req.method === "PUT" &&
      uploadId === null &&
      (req.headers["if-none-match"] !== undefined || req.headers["if-match"] !== undefined);
    if (conditional) return void this.conditionalPut(req, res, url);
    this.proxy(req, res, url);
  }

  /**
   * S3's conditional writes: 412 PreconditionFailed when the condition fails, 404 NoSuchKey for
   * If-Match on a missing object, and 409 ConditionalRequestConflict while another conditional
   * write to the same key is in flight (S3 answers concurrent ones the same way).
   */
  private async conditionalPut(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const refuse = (status: number, code: string) => {
      req.resume();
      res.writeHead(status, { "content-type": "application/xml" });
      res.end(`<Error><Code>${code}</Code><Message>${code}</Message></Error>`);
    };
    if (this.conditionalWrites.has(path)) return refuse(409, "ConditionalRequestConflict");
    this.conditionalWrites.add(path);
    res.on("close", () => this.conditionalWrites.delete(path));

    const current = await this.headBackend(path);
    const noneMatch = req.headers["if-none-match"];
    const match = req.headers["if-match"];
    if (noneMatch === "*" && current.exists) return refuse(412, "PreconditionFailed");
    if (match !== undefined) {
      if (!current.exists) return refuse(404, "NoSuchKey");
      if (unquote(match) !== unquote(current.etag)) return refuse(412, "PreconditionFailed");
    }
    this.proxy(req, res, url);
  }

  private headBackend(path: string): Promise<{ exists: boolean; etag: string }> {
    return new Promise((resolve) => {
      const head = request(
        { host: "127.0.0.1", port: this.backendPort, method: "HEAD", path },
        (answer) => {
          answer.resume();
          const etag = answer.headers.etag ?? "";
          resolve({ exists: answer.statusCode === 200, etag });
        },
      );
      head.on("error", () => resolve({ exists: false, etag: "" }));
      head.end();
    });
  }

  private proxy(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const uploadId = url.searchParams.get("uploadId");
    const upstream = request(
      {
        host: "127.0.0.1",
        port: this.backendPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        const initiating = req.method === "POST" && url.searchParams.has("uploads");
        const completing = req.method === "POST" && uploadId !== null;
        if (completing && answer.statusCode === 200 && uploadId) this.openUploads.delete(uploadId);
        if (!initiating) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          const body = Buffer.concat(chunks);
          const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1];
          if (id) this.openUploads.set(id, url.pathname);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
        });
      },
    );
    upstream.on("error", () => res.destroy());
    // A client that vanished mid-body must not leave s3rver waiting for the rest (stop() would hang).
    req.on("close", () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, "").replace(/"/g, "");
}
