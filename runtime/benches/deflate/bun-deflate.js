// Bun's WebSocket server (uWebSockets underneath) as a target of wsboot's deflate
// bench (`cargo bench -p wsboot --bench deflate -- --bun PATH`): echoes every
// message on /echo, compressed when the client negotiated permessage-deflate.
// Prints its ready line like the fan-out bench's Bun peer and stops when its
// standard input closes.
// Usage: bun bun-deflate.js [--addr HOST:PORT] [--compression off|default|dedicated|3KB]
const argument = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const [hostname, port] = argument("--addr", "127.0.0.1:0").split(":");
// `default` is what Bun's guide shows (`perMessageDeflate: true`); `dedicated`
// keeps a compressor with a full window per connection (context takeover);
// `3KB` is uWebSockets' small-memory dedicated compressor.
const compressions = {
  off: false,
  default: true,
  dedicated: { compress: "dedicated", decompress: "dedicated" },
  "3KB": { compress: "3KB", decompress: "dedicated" },
};
const compression = argument("--compression", "default");
if (!(compression in compressions)) throw new Error(`unknown --compression ${compression}`);
const server = Bun.serve({
  hostname,
  port: Number(port),
  fetch(req, server) {
    if (server.upgrade(req)) return;
    return new Response("WebSocket only", { status: 426 });
  },
  websocket: {
    message(ws, message) {
      ws.send(message, true);
    },
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 0,
    perMessageDeflate: compressions[compression],
  },
});
console.log(`listening on ws://${server.hostname}:${server.port}`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
