import type * as crypto from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { delimitedListing, delimitedListingBucket } from "./delimited-listing.js";

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17 and
 * later) no longer provides: every truncated listing answered 500 InternalError. s3rver runs in
 * this process, so its one use of "des" is served by AES-128 with the 8-byte key and IV doubled;
 * the token stays opaque and round-trips. Nothing else in the project uses DES.
 */
function serveS3rverDes(): void {
  const cryptoModule = createRequire(import.meta.url)("node:crypto") as typeof crypto;
  const marked = cryptoModule as typeof crypto & { s3rverDes?: true };
  if (marked.s3rverDes) return;
  marked.s3rverDes = true;
  const double = (bytes: crypto.BinaryLike) =>
    Buffer.concat([Buffer.from(bytes as Buffer), Buffer.from(bytes as Buffer)]);
  // The cipher and the decipher are patched alike: "des" becomes AES-128 with doubled key/IV.
  const desAsAes = <F extends typeof crypto.createCipheriv | typeof crypto.createDecipheriv>(
    original: F,
  ): F =>
    ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike, options?: never) =>
      algorithm === "des"
        ? original("aes-128-cbc", double(key as Buffer), double(iv))
        : original(algorithm, key, iv, options)) as F;
  cryptoModule.createCipheriv = desAsAes(cryptoModule.createCipheriv);
  cryptoModule.createDecipheriv = desAsAes(cryptoModule.createDecipheriv);
}

/**
 * s3rver files a key `a/b/c` as `a/b/c._S3rver_object` and removed the folder `a/b/` when its last
 * object was deleted. S3 has no folders: a PUT of another key into `a/b/` racing that DELETE (the
 * export lifecycle's running markers under `manifests/running/` come and go so) then failed to
 * open its file, and s3rver, which does not listen for that stream's error, took the whole process
 * down with ENOENT. Deletes here remove the object's files and leave the folders: an empty folder
 * holds no object, so no listing shows it.
 */
function keepS3rverFolders(): void {
  const require = createRequire(import.meta.url);
  const { promises: fs } = require("node:fs") as typeof import("node:fs");
  const FilesystemStore = require("s3rver/lib/stores/filesystem.js") as {
    prototype: {
      s3rverKeepsFolders?: true;
      getResourcePath(bucket: string, key: string, resource: string): string;
      deleteObject(bucket: string, key: string): Promise<void>;
    };
  };
  const store = FilesystemStore.prototype;
  if (store.s3rverKeepsFolders) return;
  store.s3rverKeepsFolders = true;
  store.deleteObject = async function (bucket, key) {
    await Promise.all(
      ["object", "object.md5", "metadata.json"].map((resource) =>
        fs.unlink(this.getResourcePath(bucket, key, resource)).catch((error: unknown) => {
          if ((error as { code?: string }).code !== "ENOENT") throw error;
        }),
      ),
    );
  };
}

/**
 * s3rver (a real S3-protocol server, objects on disk) behind a thin front on loopback that
 * (1) answers AbortMultipartUpload, which s3rver lacks, (2) keeps a ledger of multipart
 * uploads so tests can prove none stays open, (3) lets a test inject faults, and (4) honours
 * conditional PUTs and DELETEs (`If-None-Match: *`, `If-Match: <etag>`), which S3 supports and
 * s3rver ignores (it reads those headers on GET only): the export lifecycle relies on them, and
 * (5) lists with a delimiter correctly (delimited-listing.ts), which s3rver does one level deep
 * only, so `aws s3 ls` shows the exports.
 */
export interface LocalS3Options {
  buckets?: string[];
  /** Keep objects here; a fresh temporary folder (removed on stop) by default. */
  directory?: string;
  port?: number;
}

/** A status to answer with, "destroy" to drop the connection, "hang" to never answer. */
export type FaultRule = (req: IncomingMessage) => number | "destroy" | "hang" | undefined;

/** How a client reaches a local S3 (this front or s3rver behind it): path-style, s3rver's fixed credentials. */
export function localS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
}

/** One request as the front saw it: enough to count what an operation costs in S3 requests. */
export interface S3Request {
  method: string;
  path: string;
  query: URLSearchParams;
}

export class LocalS3 {
  endpoint = "";
  readonly openUploads = new Map<string, string>();
  /** Every request the front received, in order; a test may empty it (`length = 0`). */
  readonly requests: S3Request[] = [];
  readonly abortedUploads: string[] = [];
  private s3rver: S3rver | undefined;
  private front: Server | undefined;
  private backendPort = 0;
  /** Talks to s3rver itself, for what the front answers on its behalf. */
  private backend: S3Client | undefined;
  private directory = "";
  private ownsDirectory = false;
  private faults: FaultRule[] = [];
  /** Object paths with a conditional PUT in flight: check and write are one step per path. */
  private readonly conditionalWrites = new Set<string>();
  /** Per object path, the end of the last request queued on it (see oneAtATime). */
  private readonly objectQueues = new Map<string, Promise<void>>();

  constructor(private readonly options: LocalS3Options = {}) {}

  async start(): Promise<this> {
    serveS3rverDes();
    keepS3rverFolders();
    this.ownsDirectory = !this.options.directory;
    this.directory = this.options.directory ?? (await mkdtemp(join(tmpdir(), "wavy-s3-")));
    this.s3rver = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: process.env.S3RVER_VERBOSE !== "1",
      directory: this.directory,
      configureBuckets: (this.options.buckets ?? []).map((name) => ({ name, configs: [] })),
    });
    const info = (await this.s3rver.run()) as AddressInfo | [string, number];
    this.backendPort = Array.isArray(info) ? info[1] : info.port;
    this.backend = new S3Client(localS3ClientConfig(`http://127.0.0.1:${this.backendPort}`));

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
    this.backend?.destroy();
    await this.s3rver?.close();
    if (this.ownsDirectory) await rm(this.directory, { recursive: true, force: true });
  }

  /**
   * Writes objects straight into s3rver's folder (its on-disk layout: `<bucket>/<key>._S3rver_object`,
   * the ETag computed on first read), bypassing HTTP: seeding 100 000 objects takes seconds instead of
   * minutes. The requests a test counts are then only its own.
   */
  async seedObjects(
    bucket: string,
    objects: Iterable<{ key: string; body: string }>,
  ): Promise<number> {
    let count = 0;
    const folders = new Set<string>();
    for (const { key, body } of objects) {
      const parts = key.split("/");
      const name = parts.pop() ?? "";
      const folder = join(this.directory, bucket, ...parts);
      if (!folders.has(folder)) {
        await mkdir(folder, { recursive: true });
        folders.add(folder);
      }
      await writeFile(join(folder, `${name}._S3rver_object`), body);
      count++;
    }
    return count;
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
    this.requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
    });
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
    if (req.method === "GET" && url.searchParams.has("uploads")) {
      return void this.listUploads(req, res, url);
    }
    // Conditional deletes (If-Match) too: S3 has them on general purpose buckets, s3rver not.
    const conditional =
      (req.method === "PUT" || req.method === "DELETE") &&
      uploadId === null &&
      (req.headers["if-none-match"] !== undefined || req.headers["if-match"] !== undefined);
    const listedBucket = delimitedListingBucket(req.method, url);
    if (listedBucket !== undefined) return void this.list(req, res, listedBucket, url);
    const run = () =>
      conditional ? void this.conditionalPut(req, res, url) : this.proxy(req, res, url);
    const wholeObject = uploadId === null && !url.searchParams.has("uploads");
    if (wholeObject && url.pathname.split("/").length > 2) {
      this.oneAtATime(url.pathname, res, run);
    } else {
      run();
    }
  }

  private async list(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    url: URL,
  ): Promise<void> {
    req.resume();
    try {
      const body = await delimitedListing(this.backend as S3Client, bucket, url.searchParams);
      res.writeHead(200, { "content-type": "application/xml" }).end(body);
    } catch (error) {
      const code = (error as { name?: string }).name === "NoSuchBucket" ? "NoSuchBucket" : "";
      res.writeHead(code ? 404 : 500, { "content-type": "application/xml" });
      res.end(
        `<Error><Code>${code || "InternalError"}</Code><Message>${code || "listing failed"}</Message></Error>`,
      );
    }
  }

  /**
   * S3's conditional writes and deletes: 412 PreconditionFailed when the condition fails, 404
   * NoSuchKey for If-Match on a missing object, and 409 ConditionalRequestConflict while another conditional
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

  /**
   * S3 replaces an object atomically: a GET sees the old or the new one, never half of it. s3rver
   * writes the file in place, so a GET racing a PUT of the same key can read it half-written (a
   * manifest that is not JSON yet). Requests on one object therefore run one at a time here.
   */
  private oneAtATime(path: string, res: ServerResponse, run: () => void): void {
    const before = this.objectQueues.get(path) ?? Promise.resolve();
    const ended = new Promise<void>((resolve) => res.on("close", () => resolve()));
    const mine = before.then(() => ended);
    this.objectQueues.set(path, mine);
    void mine.then(() => {
      if (this.objectQueues.get(path) === mine) this.objectQueues.delete(path);
    });
    void before.then(run);
  }

  /**
   * ListMultipartUploads (which s3rver lacks) from the ledger: the uploads open in the bucket
   * whose key starts with `prefix`, as S3 answers them (one page: tests never hold 1 000).
   */
  private listUploads(req: IncomingMessage, res: ServerResponse, url: URL): void {
    req.resume();
    const bucket = decodeURIComponent(url.pathname.split("/")[1] ?? "");
    const prefix = url.searchParams.get("prefix") ?? "";
    const uploads = [...this.openUploads]
      .map(([uploadId, path]) => ({
        uploadId,
        bucket: decodeURIComponent(path.split("/")[1] ?? ""),
        key: decodeURIComponent(path.split("/").slice(2).join("/")),
      }))
      .filter((upload) => upload.bucket === bucket && upload.key.startsWith(prefix));
    const xml = (text: string) =>
      text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    res.writeHead(200, { "content-type": "application/xml" });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${xml(bucket)}</Bucket>` +
        `<Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
        uploads
          .map(
            (upload) =>
              `<Upload><Key>${xml(upload.key)}</Key><UploadId>${xml(upload.uploadId)}</UploadId>` +
              `<Initiated>${new Date().toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
          )
          .join("") +
        "</ListMultipartUploadsResult>",
    );
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
