import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PutBucketCorsCommand, S3Client } from "@aws-sdk/client-s3";
import type { APIGatewayProxyResult } from "aws-lambda";
import type { ProxyHandler } from "./api-gateway.js";
import { localS3ClientConfig } from "./local-s3.js";

/**
 * The local console (docs/contract.md, "Local console"): static files served beside the API
 * handler by the local stand-in only. The deployed API never sees these paths, so `/` stays
 * NOT_FOUND there; here the handler still answers every other path, the page included calls it.
 */
const CONSOLE_DIR = fileURLToPath(new URL("../local/console/", import.meta.url));
const UPLOT_DIR = join(
  dirname(createRequire(import.meta.url).resolve("uplot/package.json")),
  "dist",
);

/** Every file the console serves, by URL path: a fixed list, so no path ever reaches the disk. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: join(CONSOLE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/console/console.js": { file: join(CONSOLE_DIR, "console.js"), type: "text/javascript" },
  "/console/api.js": { file: join(CONSOLE_DIR, "api.js"), type: "text/javascript" },
  "/console/console.css": { file: join(CONSOLE_DIR, "console.css"), type: "text/css" },
  "/console/vendor/uPlot.esm.js": {
    file: join(UPLOT_DIR, "uPlot.esm.js"),
    type: "text/javascript",
  },
  "/console/vendor/uPlot.min.css": { file: join(UPLOT_DIR, "uPlot.min.css"), type: "text/css" },
};

export interface ConsoleTarget {
  customerId: string;
  subAccountId: string | null;
}

export interface ConsoleOptions {
  /** What the local counter counts: the page opens on these (`/console/targets.json`). */
  targets: readonly ConsoleTarget[];
  /** The business numbers whose MOs reach the local webhook: the page's live panels open on them. */
  origins?: readonly string[];
  /** The local S3's endpoint: the page reads closing lists from its presigned URLs. */
  s3Endpoint: string;
}

/** The API handler with the console's files in front of it, for `startApiServer`. */
export function withConsole(handler: ProxyHandler, options: ConsoleOptions): ProxyHandler {
  const targets = JSON.stringify({
    targets: options.targets.map(({ customerId, subAccountId }) => ({ customerId, subAccountId })),
    origins: options.origins ?? [],
  });
  return async (event) => {
    if (event.httpMethod !== "GET" && event.httpMethod !== "HEAD") return handler(event);
    const path = event.path === "/console" || event.path === "/console/" ? "/" : event.path;
    if (path === "/console/targets.json") {
      return asset(targets, "application/json; charset=utf-8", options.s3Endpoint);
    }
    const entry = FILES[path];
    if (!entry) return handler(event);
    return asset(await readFile(entry.file, "utf-8"), entry.type, options.s3Endpoint);
  };
}

function asset(body: string, type: string, s3Endpoint: string): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: {
      "content-type": type,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // The page talks to this API and reads presigned URLs of the local S3, nothing else.
      "content-security-policy": `default-src 'self'; connect-src 'self' ${s3Endpoint}; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'`,
    },
    body,
  };
}

/**
 * Lets the console's own origins read presigned URLs of the local bucket (the closing lists),
 * as a CORS rule on a real bucket would (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html,
 * PutBucketCors: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html).
 * GET only, from the page's origin only.
 */
export async function allowConsoleReads(
  s3Endpoint: string,
  bucket: string,
  apiUrl: string,
): Promise<void> {
  const port = new URL(apiUrl).port;
  const s3 = new S3Client(localS3ClientConfig(s3Endpoint));
  try {
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
              AllowedMethods: ["GET"],
              AllowedHeaders: ["*"],
              MaxAgeSeconds: 600,
            },
          ],
        },
      }),
    );
  } finally {
    s3.destroy();
  }
}
