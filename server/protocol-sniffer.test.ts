import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createProtocolSniffer, HTTP2_PREFACE, sniffProtocol } from "./protocol-sniffer.js";

describe("sniffProtocol()", () => {
  it("waits while the bytes are a prefix of the HTTP/2 preface", () => {
    expect(sniffProtocol(Buffer.from("PRI * HTTP/2"))).toBeUndefined();
    expect(sniffProtocol(Buffer.alloc(0))).toBeUndefined();
  });
  it("says h2 once the whole preface has arrived", () => {
    expect(sniffProtocol(HTTP2_PREFACE)).toBe("h2");
    expect(sniffProtocol(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4])]))).toBe("h2");
  });
  it("says http/1.1 as soon as one byte differs", () => {
    expect(sniffProtocol(Buffer.from("P"))).toBeUndefined();
    expect(sniffProtocol(Buffer.from("POST / HTTP/1.1\r\n"))).toBe("http/1.1");
    expect(sniffProtocol(Buffer.from("G"))).toBe("http/1.1");
  });
});

describe("createProtocolSniffer()", () => {
  let server: Server | undefined;
  let h2: http2.Http2Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  async function start(): Promise<number> {
    // Echo the HTTP version and the body length, so each test sees who answered.
    const handler = (
      req: http.IncomingMessage | http2.Http2ServerRequest,
      res: http.ServerResponse | http2.Http2ServerResponse,
    ) => {
      let length = 0;
      req.on("data", (chunk: Buffer) => {
        length += chunk.length;
      });
      req.on("end", () => res.end(`${req.httpVersion} ${length}`));
    };
    h2 = http2.createServer(handler);
    h2.on("session", (session) => server?.once("close", () => session.destroy()));
    server = createProtocolSniffer({ http2Server: h2, http1Server: http.createServer(handler) });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  it("hands HTTP/2 prior-knowledge connections to the HTTP/2 server", async () => {
    const port = await start();
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const body = "x".repeat(100_000);
      const text = await new Promise<string>((resolve, reject) => {
        const req = client.request({ ":method": "POST", ":path": "/" });
        let out = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => {
          out += c;
        });
        req.on("end", () => resolve(out));
        req.on("error", reject);
        req.end(body);
      });
      expect(text).toBe("2.0 100000");
    } finally {
      client.close();
    }
  });

  it("hands HTTP/1.1 connections to the HTTP/1.1 server", async () => {
    const port = await start();
    const agent = new http.Agent({ keepAlive: false });
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port, method: "POST", path: "/", agent },
        (res) => {
          let out = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            out += c;
          });
          res.on("end", () => resolve(out));
        },
      );
      req.on("error", reject);
      req.end("hello");
    });
    expect(text).toBe("1.1 5");
  });
});
