import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalS3, localS3ClientConfig } from "../../../../dev/local-s3.js";
import { loopbackCertificate, TlsFront } from "../../../../dev/tls-front.js";
import { copyToS3 } from "../../../../lambdas/lib/exports/copy-to-s3.js";
import { UNSIGNED_PAYLOAD } from "../../../../lambdas/lib/s3/part-uploader.js";

/**
 * The CSV's parts are hashed by SHA-256 once (for the export's sha256), not a second time by
 * SigV4: over HTTPS, with the SDK's default CRC32 on each part, they are signed UNSIGNED-PAYLOAD.
 * Anywhere a part would lose protection (plain HTTP, no checksum) the payload stays signed.
 */
const BUCKET = "unsigned-payload-test";
const PART = 5 * 1024 * 1024;

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let s3: LocalS3;
let tls: TlsFront;
let ca: string;
const seen: SeenRequest[] = [];

beforeAll(async () => {
  s3 = await new LocalS3({ buckets: [BUCKET] }).start();
  const certificate = await loopbackCertificate();
  ca = certificate.cert;
  tls = await new TlsFront(Number(new URL(s3.endpoint).port), certificate).start();
  s3.injectFault((req) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    return undefined;
  });
});

afterAll(async () => {
  await tls.stop();
  await s3.stop();
});

beforeEach(() => {
  seen.length = 0;
});

function client(
  endpoint: string,
  requestChecksumCalculation: "WHEN_SUPPORTED" | "WHEN_REQUIRED",
): S3Client {
  return new S3Client({
    ...localS3ClientConfig(endpoint),
    requestChecksumCalculation,
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { httpsAgent: new https.Agent({ ca }) },
  });
}

/** Bytes that differ from part to part, so a checksum of the wrong bytes cannot pass. */
function csvBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 35 === 34 ? 0x0a : 0x30 + ((i * 7) % 10);
  return bytes;
}

async function copy(s3Client: S3Client, body: Buffer, key: string) {
  const figures = await copyToS3(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), {
    s3: s3Client,
    bucket: BUCKET,
    key,
    partSize: PART,
    queueSize: 2,
  });
  const object = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const stored = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  return { figures, stored };
}

const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const crc32Base64 = (bytes: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(bytes));
  return out.toString("base64");
};
const signedHeaders = (request: SeenRequest) =>
  /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))?.[1]?.split(";") ?? [];

/** The requests that carried CSV bytes (UploadPart, or the single PutObject), in part order. */
function bodyRequests(key: string): SeenRequest[] {
  return seen
    .filter((r) => r.method === "PUT" && r.url.includes(key))
    .sort(
      (a, b) =>
        Number(new URL(a.url, "http://x").searchParams.get("partNumber") ?? 0) -
        Number(new URL(b.url, "http://x").searchParams.get("partNumber") ?? 0),
    );
}

describe("copyToS3 signing of the CSV's bytes", () => {
  it("sends each part UNSIGNED-PAYLOAD over HTTPS, with the part's own CRC32 in a signed header", async () => {
    const body = csvBytes(2 * PART + 12_345);
    const { figures, stored } = await copy(client(tls.origin, "WHEN_SUPPORTED"), body, "tls.csv");

    expect(stored.equals(body)).toBe(true);
    expect(figures.sha256).toBe(sha256Hex(body));
    const parts = bodyRequests("tls.csv");
    expect(parts).toHaveLength(3);
    parts.forEach((request, index) => {
      const part = body.subarray(index * PART, (index + 1) * PART);
      expect(request.headers["x-amz-content-sha256"]).toBe(UNSIGNED_PAYLOAD);
      expect(request.headers["x-amz-checksum-crc32"]).toBe(crc32Base64(part));
      expect(signedHeaders(request)).toEqual(
        expect.arrayContaining(["x-amz-checksum-crc32", "x-amz-content-sha256"]),
      );
    });
  });

  it("sends a CSV that fits one part as one PutObject, UNSIGNED-PAYLOAD with its CRC32, over HTTPS", async () => {
    const body = csvBytes(70_000);
    const { stored } = await copy(client(tls.origin, "WHEN_SUPPORTED"), body, "small.csv");

    expect(stored.equals(body)).toBe(true);
    const [put, ...others] = bodyRequests("small.csv");
    expect(others).toEqual([]);
    expect(put?.headers["x-amz-content-sha256"]).toBe(UNSIGNED_PAYLOAD);
    expect(put?.headers["x-amz-checksum-crc32"]).toBe(crc32Base64(body));
  });

  it("keeps the payload signed over plain HTTP, where nothing else protects the bytes in transit", async () => {
    const body = csvBytes(PART + 777);
    const { stored } = await copy(client(s3.endpoint, "WHEN_SUPPORTED"), body, "http.csv");

    expect(stored.equals(body)).toBe(true);
    const parts = bodyRequests("http.csv");
    expect(parts.map((r) => r.headers["x-amz-content-sha256"])).toEqual([
      sha256Hex(body.subarray(0, PART)),
      sha256Hex(body.subarray(PART)),
    ]);
  });

  it("keeps the payload signed over HTTPS when no checksum is sent (WHEN_REQUIRED)", async () => {
    const body = csvBytes(PART + 777);
    const { stored } = await copy(client(tls.origin, "WHEN_REQUIRED"), body, "no-crc.csv");

    expect(stored.equals(body)).toBe(true);
    const parts = bodyRequests("no-crc.csv");
    expect(parts.every((r) => r.headers["x-amz-checksum-crc32"] === undefined)).toBe(true);
    expect(parts.map((r) => r.headers["x-amz-content-sha256"])).toEqual([
      sha256Hex(body.subarray(0, PART)),
      sha256Hex(body.subarray(PART)),
    ]);
  });
});
