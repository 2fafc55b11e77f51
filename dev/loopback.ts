import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What every dev server does to start and stop: listen on loopback only (nothing here may be
 * reachable from another machine), and on stop drop keep-alive connections too, since
 * `close()` alone waits for idle sockets and would hold a test run open.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
