import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { request } from "undici";
import { measure } from "./measure.js";

/**
 * The bare pipe the export is compared with: the same file downloaded with undici and
 * uploaded by lib-storage with the export's part and queue sizes, no hashing, no scanning.
 */
const url = process.env.BENCH_FILE_URL ?? "";
const bucket = process.env.EXPORT_BUCKET ?? "";
const key = process.env.BENCH_KEY ?? "baseline.csv";
const s3 = new S3Client({ forcePathStyle: true });

await measure(async () => {
  const response = await request(url, { headers: { "accept-encoding": "identity" } });
  if (response.statusCode !== 200) throw new Error(`download answered ${response.statusCode}`);
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: response.body, ContentType: "text/csv" },
    partSize: 8 * 1024 * 1024,
    queueSize: 4,
    leavePartsOnError: false,
  }).done();
  return { key };
});
