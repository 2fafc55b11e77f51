import { S3Client } from "@aws-sdk/client-s3";

/** The init-time baseline: a function bundle that holds only an S3 client. */
export const s3 = new S3Client({});

export async function handler(): Promise<string> {
  return typeof s3.send;
}
