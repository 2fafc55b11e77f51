import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from "../../lambdas/lib/s3/part-uploader.js";
import { measure } from "./measure.js";

/**
 * The bare pipe the export is compared with: the same file downloaded with node:http(s), as the
 * export downloads it, and uploaded by lib-storage with the export's part and queue sizes, no
 * hashing, no scanning.
 */
const url = process.env.BENCH_FILE_URL ?? "";
const bucket = process.env.EXPORT_BUCKET ?? "";
const key = process.env.BENCH_KEY ?? "baseline.csv";
const s3 = new S3Client({ forcePathStyle: true });

function download(link: string): Promise<IncomingMessage> {
  const options = { headers: { "accept-encoding": "identity" } };
  return new Promise((resolve, reject) => {
    const target = new URL(link);
    const request =
      target.protocol === "https:"
        ? https.get(target, options, resolve)
        : http.get(target, options, resolve);
    request.on("error", reject);
  });
}

await measure(async () => {
  const response = await download(url);
  if (response.statusCode !== 200) throw new Error(`download answered ${response.statusCode}`);
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: response, ContentType: "text/csv" },
    partSize: DEFAULT_PART_SIZE,
    queueSize: DEFAULT_QUEUE_SIZE,
    leavePartsOnError: false,
  }).done();
  return { key };
});
