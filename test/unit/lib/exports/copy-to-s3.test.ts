import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FaultRule, LocalS3, localS3ClientConfig } from "../../../../dev/local-s3.js";
import {
  InternalError,
  UpstreamError,
  UpstreamTimeoutError,
} from "../../../../lambdas/lib/errors.js";
import { copyToS3 } from "../../../../lambdas/lib/exports/copy-to-s3.js";
import { csvStream, failingStream } from "../../../support/counter.js";
import { captureLogs } from "../../../support/log-capture.js";

/**
 * copyToS3 against a real S3-protocol server (s3rver behind dev/local-s3.ts's front) with the
 * real SDK: what reaches S3, request by request, and what is left there afterwards. Parts are
 * a few KiB instead of S3's 5 MiB minimum, which s3rver does not enforce, so a multipart
 * upload of many parts costs milliseconds.
 */

const BUCKET = "copy-to-s3-test";
const PART = 16 * 1024;
const HEADER = "source;session_created_at\n";

type S3Call =
  | "PutObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "other";

interface SeenRequest {
  call: S3Call;
  key: string;
  partNumber?: number;
  contentLength?: number;
}

let s3: LocalS3;
let client: S3Client;
let seen: SeenRequest[];

beforeAll(async () => {
  s3 = await new LocalS3({ buckets: [BUCKET] }).start();
  client = new S3Client(localS3ClientConfig(s3.endpoint));
});

afterEach(() => s3.clearFaults());

afterAll(async () => {
  client.destroy();
  await s3.stop();
});

/** Records every request to `key` at the server, then applies `fault` to it. */
function watch(key: string, fault?: (request: SeenRequest) => ReturnType<FaultRule>) {
  seen = [];
  s3.injectFault((req) => {
    const request = describeRequest(req);
    if (request.key !== key) return undefined;
    seen.push(request);
    return fault?.(request);
  });
}

function describeRequest(req: IncomingMessage): SeenRequest {
  const url = new URL(req.url ?? "/", "http://s3");
  const partNumber = url.searchParams.get("partNumber");
  const length = req.headers["content-length"];
  return {
    call: s3CallOf(req.method ?? "", url.searchParams),
    key: decodeURIComponent(url.pathname.slice(`/${BUCKET}/`.length)),
    ...(partNumber !== null && { partNumber: Number(partNumber) }),
    ...(length !== undefined && { contentLength: Number(length) }),
  };
}

/** The S3 operation a path-style object request is (https://docs.aws.amazon.com/AmazonS3/latest/API/). */
function s3CallOf(method: string, query: URLSearchParams): S3Call {
  if (method === "PUT") return query.has("partNumber") ? "UploadPart" : "PutObject";
  if (method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
  if (method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
  if (method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
  return "other";
}

const calls = () => seen.map((request) => request.call);

/** A Wavy-like CSV of about `bytes` bytes (never less), and its number of data rows. */
function csvOf(bytes: number): { text: string; rows: number } {
  const lines = [HEADER];
  let size = HEADER.length;
  let rows = 0;
  while (size < bytes) {
    const line = `55119${String(rows).padStart(8, "0")};2026-11-28 09:15:42\n`;
    lines.push(line);
    size += line.length;
    rows += 1;
  }
  return { text: lines.join(""), rows };
}

/** A CSV of exactly `bytes` bytes: the last row's number is padded to fill. */
function csvOfExactly(bytes: number): { text: string; rows: number } {
  const { text, rows } = csvOf(bytes - 64);
  const last = `55119${"9".repeat(bytes - text.length - 26)};2026-11-28 09:15:42\n`;
  return { text: text + last, rows: rows + 1 };
}

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

async function readBack(key: string): Promise<{ body: Buffer; contentType?: string }> {
  const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return {
    body: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
    contentType: object.ContentType,
  };
}

async function exists(key: string): Promise<boolean> {
  const listing = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  return (listing.KeyCount ?? 0) > 0;
}

/** No object, no open upload, and every upload that was started was aborted. */
async function expectNothingLeft(key: string, abortedBefore: number): Promise<void> {
  expect(await exists(key)).toBe(false);
  expect([...s3.openUploads.values()].filter((path) => path.endsWith(`/${key}`))).toEqual([]);
  const started = calls().filter((call) => call === "CreateMultipartUpload").length;
  expect(calls()).not.toContain("CompleteMultipartUpload");
  expect(s3.abortedUploads.length - abortedBefore).toBe(started);
}

const newKey = () => `exports/${randomUUID()}.csv`;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("copyToS3: what is stored", () => {
  it("stores a CSV that fits in one part with one PutObject, figures of the bytes stored", async () => {
    // Prepare
    const key = newKey();
    const { text, rows } = csvOf(PART / 2);
    watch(key);
    // Act
    const figures = await copyToS3(csvStream(text, 1000), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
    });
    // Assess
    expect(calls()).toEqual(["PutObject"]);
    const stored = await readBack(key);
    expect(stored.body.toString()).toBe(text);
    expect(stored.contentType).toBe("text/csv; charset=utf-8");
    expect(figures).toEqual({ rows, bytes: stored.body.length, sha256: sha256(stored.body) });
  });

  it("stores a CSV of exactly one part's size with one PutObject", async () => {
    const key = newKey();
    const { text, rows } = csvOfExactly(PART);
    expect(text.length).toBe(PART);
    watch(key);

    const figures = await copyToS3(csvStream(text, 4096), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
    });

    expect(calls()).toEqual(["PutObject"]);
    expect((await readBack(key)).body.toString()).toBe(text);
    expect(figures).toEqual({ rows, bytes: PART, sha256: sha256(text) });
  });

  it("stores an empty CSV as an empty object", async () => {
    const key = newKey();
    watch(key);

    const figures = await copyToS3(Readable.from([]), { s3: client, bucket: BUCKET, key });

    expect(calls()).toEqual(["PutObject"]);
    expect((await readBack(key)).body.length).toBe(0);
    expect(figures).toEqual({ rows: 0, bytes: 0, sha256: sha256("") });
  });

  it("stores a larger CSV as a multipart upload of partSize parts, in order", async () => {
    // Prepare: 5.5 parts, in chunks that do not line up with the parts.
    const key = newKey();
    const { text, rows } = csvOf(PART * 5.5);
    watch(key);
    // Act
    const figures = await copyToS3(csvStream(text, 1000), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
      queueSize: 2,
    });
    // Assess
    const parts = seen.filter((request) => request.call === "UploadPart");
    expect(calls()[0]).toBe("CreateMultipartUpload");
    expect(calls().at(-1)).toBe("CompleteMultipartUpload");
    expect(parts.map((part) => part.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(parts.map((part) => part.contentLength).sort((a, b) => (b ?? 0) - (a ?? 0))).toEqual([
      PART,
      PART,
      PART,
      PART,
      PART,
      text.length - 5 * PART,
    ]);
    const stored = await readBack(key);
    expect(stored.body.equals(Buffer.from(text))).toBe(true);
    expect(stored.contentType).toBe("text/csv; charset=utf-8");
    expect(figures).toEqual({ rows, bytes: stored.body.length, sha256: sha256(stored.body) });
    expect([...s3.openUploads.values()].filter((path) => path.endsWith(`/${key}`))).toEqual([]);
  });

  it("sends no empty last part when the CSV is a whole number of parts", async () => {
    const key = newKey();
    const { text } = csvOfExactly(2 * PART);
    watch(key);

    await copyToS3(csvStream(text, 4096), { s3: client, bucket: BUCKET, key, partSize: PART });

    expect(calls()).toEqual([
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    expect((await readBack(key)).body.toString()).toBe(text);
  });
});

describe("copyToS3: failures leave nothing behind", () => {
  it("refuses a malformed CSV as UPSTREAM_ERROR and aborts its multipart upload", async () => {
    // Prepare: several parts of good rows, then a quote left open at the end.
    const key = newKey();
    const { text } = csvOf(PART * 3.5);
    watch(key);
    const abortedBefore = s3.abortedUploads.length;
    // Act
    const outcome = copyToS3(csvStream(`${text}5511900000000;"2026-11-28`, 1000), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
    });
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(UpstreamError);
    await expect(outcome).rejects.toMatchObject({
      status: 502,
      code: "UPSTREAM_ERROR",
      message: "Wavy's CSV could not be read as CSV",
    });
    expect(calls()).toContain("UploadPart");
    await expectNothingLeft(key, abortedBefore);
  });

  it("stores nothing at all for a malformed CSV that fits in one part", async () => {
    const key = newKey();
    watch(key);

    const outcome = copyToS3(csvStream(`${HEADER}5511900000000;"open`, 7), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
    });

    await expect(outcome).rejects.toBeInstanceOf(UpstreamError);
    expect(calls()).toEqual([]);
    expect(await exists(key)).toBe(false);
  });

  it("aborts when the source stream fails, and logs the error's name only", async () => {
    // Prepare: the download breaks off after two parts' worth.
    const key = newKey();
    const { text } = csvOf(PART * 2.5);
    watch(key);
    const abortedBefore = s3.abortedUploads.length;
    const logs = captureLogs();
    // Act
    const outcome = copyToS3(
      failingStream(text, new Error("socket hang up at https://cdn.example/x.csv?token=s3cr3t")),
      { s3: client, bucket: BUCKET, key, partSize: PART },
    );
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InternalError);
    await expect(outcome).rejects.toMatchObject({ status: 500, code: "INTERNAL" });
    logs.restore();
    expect(calls()).toContain("CreateMultipartUpload");
    await expectNothingLeft(key, abortedBefore);
    expect(logs.text()).toContain("Storing the CSV in S3 failed");
    expect(logs.text()).not.toContain("s3cr3t");
  });

  it("passes a contract error from the source through as it is, and aborts", async () => {
    const key = newKey();
    const { text } = csvOf(PART * 2.5);
    watch(key);
    const abortedBefore = s3.abortedUploads.length;
    const tooLarge = new UpstreamError("Wavy's CSV is larger than MAX_CSV_BYTES");

    const outcome = copyToS3(failingStream(text, tooLarge), {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
    });

    await expect(outcome).rejects.toBe(tooLarge);
    await expectNothingLeft(key, abortedBefore);
  });

  it("answers UPSTREAM_TIMEOUT when the deadline fires mid-copy, and aborts", async () => {
    // Prepare: the second part never gets an answer; the deadline fires once it is sent.
    const key = newKey();
    const { text } = csvOf(PART * 4.5);
    const deadline = new AbortController();
    watch(key, (request) => {
      if (request.call !== "UploadPart" || request.partNumber !== 2) return undefined;
      setImmediate(() => deadline.abort());
      return "hang";
    });
    const abortedBefore = s3.abortedUploads.length;
    const source = csvStream(text, 1000);
    // Act
    const outcome = copyToS3(source, {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
      queueSize: 1,
      signal: deadline.signal,
    });
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(UpstreamTimeoutError);
    await expect(outcome).rejects.toMatchObject({ status: 504, code: "UPSTREAM_TIMEOUT" });
    // The abort goes out although the deadline has fired (it is sent without the signal).
    expect(calls()).toContain("AbortMultipartUpload");
    await expectNothingLeft(key, abortedBefore);
    expect(source.destroyed).toBe(true);
  });
});

describe("copyToS3: backpressure", () => {
  it("holds no more than queueSize + 1 parts in flight and stops reading the source", async () => {
    // Prepare: S3 takes parts but never answers; a source of 20 parts counts what is read.
    const queueSize = 2;
    const chunk = 4096;
    const key = newKey();
    const { text } = csvOf(PART * 20);
    const bytes = Buffer.from(text);
    let read = 0;
    const source = Readable.from(
      (function* () {
        for (let offset = 0; offset < bytes.length; offset += chunk) {
          read += Math.min(chunk, bytes.length - offset);
          yield bytes.subarray(offset, offset + chunk);
        }
      })(),
      { highWaterMark: 1 },
    );
    const deadline = new AbortController();
    watch(key, (request) => (request.call === "UploadPart" ? "hang" : undefined));
    const abortedBefore = s3.abortedUploads.length;
    const uploadParts = () => calls().filter((call) => call === "UploadPart").length;
    // Act
    const outcome = copyToS3(source, {
      s3: client,
      bucket: BUCKET,
      key,
      partSize: PART,
      queueSize,
      signal: deadline.signal,
    });
    outcome.catch(() => {});
    await until(() => uploadParts() >= queueSize + 1, "the parts in flight");
    // Long enough for an unbounded copy to send the other 17 parts many times over.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Assess: queueSize + 1 buffers, every one a part in flight, and the source left unread.
    expect(uploadParts()).toBe(queueSize + 1);
    expect(read).toBeLessThanOrEqual((queueSize + 1) * PART + 3 * chunk);
    expect(read).toBeLessThan(bytes.length / 2);
    deadline.abort();
    await expect(outcome).rejects.toBeInstanceOf(UpstreamTimeoutError);
    await expectNothingLeft(key, abortedBefore);
  });
});
