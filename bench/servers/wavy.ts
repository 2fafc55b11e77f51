import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { WavySimulator } from "../../dev/wavy-simulator.js";

/**
 * The Wavy simulator in its own process (so its memory is not the export's). The parent asks
 * over IPC for a file to be served from disk, optionally as the next /v1/session answer.
 */
export interface ServeRequest {
  id: number;
  file: string;
  /** Make it the file_url of the next /v1/session answer. */
  link: boolean;
}

const sim = await new WavySimulator().start();

process.on("message", (message: ServeRequest) => {
  const bytes = statSync(message.file).size;
  const url = sim.serveFile(
    (_req, res) => {
      res.writeHead(200, { "content-type": "text/csv", "content-length": bytes });
      createReadStream(message.file, { highWaterMark: 256 * 1024 }).pipe(res);
    },
    `${basename(message.file)}-${message.id}`,
  );
  if (message.link) sim.linkTo(url);
  // The simulator records every request; the bench never reads them back.
  sim.requests.length = 0;
  process.send?.({ id: message.id, url });
});
process.on("disconnect", () => void sim.stop().then(() => process.exit(0)));
process.send?.({ ready: true, baseUrl: sim.baseUrl, credentials: sim.credentials });
