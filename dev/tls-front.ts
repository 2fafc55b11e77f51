import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import tls from "node:tls";
import { generate } from "selfsigned";

/**
 * HTTPS on loopback for the local servers, as the deployed function meets Wavy's CDN and S3:
 * a TLS listener that terminates TLS and passes the bytes, untouched, to a plain-HTTP server
 * (the Wavy simulator, the local S3 front). Working below HTTP keeps the servers unchanged:
 * the Host header, SigV4 signatures, chunked bodies and dropped connections all pass through.
 */
export interface LoopbackCertificate {
  /** PEM private key. */
  key: string;
  /** PEM certificate for 127.0.0.1 and localhost; clients trust it through `ca` or NODE_EXTRA_CA_CERTS. */
  cert: string;
}

/**
 * A self-signed certificate for the loopback names, RSA 2048 / SHA-256 like the certificates
 * S3 and CloudFront present, so handshakes cost what they cost in production.
 */
export async function loopbackCertificate(): Promise<LoopbackCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 7 * 24 * 3600_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

export class TlsFront {
  /** `https://127.0.0.1:PORT` once started. */
  origin = "";
  private server: tls.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly targetPort: number,
    private readonly certificate: LoopbackCertificate,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = tls.createServer(
      { key: this.certificate.key, cert: this.certificate.cert },
      (clear) => this.relay(clear),
    );
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private relay(clear: tls.TLSSocket): void {
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    this.sockets.add(clear).add(upstream);
    clear.pipe(upstream);
    upstream.pipe(clear);
    // A failure on either side resets both, as on one TCP connection. A server that closes
    // ends the TLS side after its last bytes are flushed; a client that leaves drops the server.
    const reset = () => {
      clear.destroy();
      upstream.destroy();
    };
    clear.on("error", reset);
    upstream.on("error", reset);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      clear.end();
    });
    clear.on("close", () => {
      this.sockets.delete(clear);
      upstream.destroy();
    });
  }
}
