import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { TlsFront } from "../../dev/tls-front.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { benchCertificate } from "./tls.js";

/**
 * The Wavy simulator in its own process (so its memory is not the export's), over plain HTTP
 * and over HTTPS (a TLS front before the same simulator). The parent asks over IPC for a file
 * to be served from disk, optionally as the next /v1/session answer, on either scheme.
 */
export interface ServeRequest {
  id: number;
  file: string;
  /** Make it the file_url of the next /v1/session answer. */
  link: boolean;
  /** Link to the HTTPS front rather than the plain server. */
  tls: boolean;
}

const sim = await new WavySimulator().start();
const tls = await new TlsFront(Number(new URL(sim.baseUrl).port), benchCertificate()).start();

process.on("message", (message: ServeRequest) => {
  const bytes = statSync(message.file).size;
  const plainUrl = sim.serveFile(
    (_req, res) => {
      res.writeHead(200, { "content-type": "text/csv", "content-length": bytes });
      createReadStream(message.file, { highWaterMark: 256 * 1024 }).pipe(res);
    },
    `${basename(message.file)}-${message.id}`,
  );
  const url = message.tls ? plainUrl.replace(sim.baseUrl, tls.origin) : plainUrl;
  if (message.link) sim.linkTo(url);
  // The simulator records every request; the bench never reads them back.
  sim.requests.length = 0;
  process.send?.({ id: message.id, url });
});
process.on(
  "disconnect",
  () => void Promise.all([tls.stop(), sim.stop()]).then(() => process.exit(0)),
);
process.send?.({
  ready: true,
  baseUrl: sim.baseUrl,
  tlsBaseUrl: tls.origin,
  credentials: sim.credentials,
});
