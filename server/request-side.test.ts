import * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type NetanomalyServer } from "./server.js";
import { testDetector } from "./testdata/detector.js";
import { captureLogs } from "./testdata/harness.js";

// RFC 9113 §8.1: after a complete response, the server resets a request side
// the client left open (RST_STREAM NO_ERROR), so the stream stops counting
// against the connection's concurrent-stream limit.

let app: NetanomalyServer | undefined;
const sessions: http2.ClientHttp2Session[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await app?.shutdown(5_000);
  app = undefined;
});

interface Outcome {
  status: string | undefined;
  rstCode: number | undefined;
}

/** A StreamScore call announcing a 4096-byte message and never half-closing. */
function oversizedCall(session: http2.ClientHttp2Session): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": "/netanomaly.v1.ScoringService/StreamScore",
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status: string | undefined;
    req.on("trailers", (t) => {
      status = String(t["grpc-status"]);
    });
    req.on("error", reject);
    req.on("close", () => resolve({ status, rstCode: req.rstCode }));
    req.resume();
    req.write(Buffer.from([0, 0, 0, 0x10, 0]));
  });
}

describe("a request side left open after the response", () => {
  for (const fastPath of [true, false]) {
    it(`is reset with NO_ERROR after the trailers (${fastPath ? "fast path" : "Connect"}), freeing its stream slot`, async () => {
      app = createServer({
        detector: testDetector(),
        logger: captureLogs().logger,
        fastPath,
        maxStreams: 2,
        maxMessageBytes: 1024,
      });
      const { port } = await app.listen(0, "127.0.0.1");
      const session = http2.connect(`http://127.0.0.1:${port}`);
      sessions.push(session);
      // Twice the stream limit, one after another on one connection: a stream
      // held open by the server would leave none for the third call.
      for (let i = 0; i < 4; i++) {
        expect(await oversizedCall(session)).toEqual({
          status: String(Code.ResourceExhausted),
          rstCode: http2.constants.NGHTTP2_NO_ERROR,
        });
      }
    });
  }
});
