// Bun's WebSocket pub/sub (uWebSockets' topics underneath), as a target of the
// fan-out bench (`fanout --bun PATH`): every connection to /sub joins the topic
// "fanout", and each message sent to /pub is published there with
// `server.publish`. Prints its ready line like the bench's own servers and stops
// when its standard input closes.
// Usage: bun bun-fanout.js [--addr HOST:PORT]   (default 127.0.0.1:0)
const i = process.argv.indexOf("--addr");
const [hostname, port] = (i > 0 ? process.argv[i + 1] : "127.0.0.1:0").split(":");
const server = Bun.serve({
  hostname,
  port: Number(port),
  fetch(req, server) {
    if (server.upgrade(req, { data: { path: new URL(req.url).pathname } })) return;
    return new Response("WebSocket only", { status: 426 });
  },
  websocket: {
    open(ws) {
      if (ws.data.path === "/sub") ws.subscribe("fanout");
    },
    message(ws, message) {
      if (ws.data.path === "/pub") server.publish("fanout", message);
    },
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 0,
    perMessageDeflate: false,
    backpressureLimit: 64 * 1024 * 1024,
  },
});
console.log(`listening on ws://${server.hostname}:${server.port}`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
