import { readFileSync } from "node:fs";
import type { LoopbackCertificate } from "../../dev/tls-front.js";

/** The certificate the parent generated for this run (BENCH_TLS_KEY / BENCH_TLS_CERT: PEM files). */
export function benchCertificate(): LoopbackCertificate {
  const keyPath = process.env.BENCH_TLS_KEY;
  const certPath = process.env.BENCH_TLS_CERT;
  if (!keyPath || !certPath)
    throw new Error("BENCH_TLS_KEY and BENCH_TLS_CERT must name PEM files");
  return { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8") };
}
