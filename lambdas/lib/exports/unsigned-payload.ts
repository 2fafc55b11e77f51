import type { PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";

/**
 * The CSV's bytes are already SHA-256'd once, for the export's `sha256`; SigV4 would hash every
 * part a second time for `x-amz-content-sha256` (the SDK's signer hashes any Buffer body). S3
 * accepts the literal `UNSIGNED-PAYLOAD` there instead ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html), and the SDK's
 * signer uses a value already set rather than hashing the body.
 *
 * It is set only when both hold, so no part travels with less protection than before:
 * - the request goes over HTTPS, whose record MACs protect the bytes in transit;
 * - the request carries an `x-amz-checksum-*` header (CRC32 with the SDK's default
 *   WHEN_SUPPORTED checksums). That header is signed, and S3 checks the part it receives against
 *   it and refuses a mismatch ("x-amz-checksum-crc32: ... a data integrity check to verify that
 *   the data received is the same data that was originally sent", UploadPart,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html); the parts' CRC32s then
 *   go into CompleteMultipartUpload, and S3 checks them there too ("Checking object integrity",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * Over plain HTTP (local S3 servers) or without a checksum (WHEN_REQUIRED), the payload stays
 * signed. A bucket policy that denies `s3:x-amz-content-sha256` = UNSIGNED-PAYLOAD would refuse
 * these requests; the stack's bucket has none.
 */
const SHA256_HEADER = "x-amz-content-sha256";
const CHECKSUM_HEADER_PREFIX = "x-amz-checksum-";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** The SDK's middleware that adds the checksum header; ours must run after it, before signing. */
const CHECKSUM_MIDDLEWARE = "flexibleChecksumsMiddleware";

interface SignableRequest {
  protocol?: string;
  headers?: Record<string, string>;
}

type Stack = UploadPartCommand["middlewareStack"];
/** The SDK's middleware type is a union of every step's; this one is a build-step middleware. */
type Middleware = Parameters<Stack["addRelativeTo"]>[0];
type Handler = (args: { request: unknown }) => Promise<unknown>;

const unsignedOverHttps = ((next: Handler) => async (args: { request: unknown }) => {
  const request = args.request as SignableRequest;
  const headers = request.headers;
  if (request.protocol === "https:" && headers) {
    const names = Object.keys(headers).map((name) => name.toLowerCase());
    const checksummed = names.some((name) => name.startsWith(CHECKSUM_HEADER_PREFIX));
    if (checksummed && !names.includes(SHA256_HEADER)) headers[SHA256_HEADER] = UNSIGNED_PAYLOAD;
  }
  return next(args);
}) as unknown as Middleware;

/** Marks one body-carrying command's payload as unsigned, under the conditions above. */
export function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  (command.middlewareStack as Stack).addRelativeTo(unsignedOverHttps, {
    // Throws at send if the SDK ever drops its checksum middleware: better than hashing twice unseen.
    relation: "after",
    toMiddleware: CHECKSUM_MIDDLEWARE,
    name: "unsignedPayloadOverHttps",
    override: true,
  });
  return command;
}
