// stomp.js against a wsboot STOMP endpoint: `node client.mjs ws://HOST:PORT/stomp`.
// Two clients (as two browser tabs of ann's): both subscribe to a room topic
// and to ann's reply queue; one SENDs to the application, one asks for a
// receipt. Prints one JSON line per thing a client saw, then `done`; exits 1
// on a STOMP error or a timeout.
import { Client } from "@stomp/stompjs";
import WebSocket from "ws";

const url = process.argv[2];
const seen = [];
const log = (what) => console.log(JSON.stringify(what));
const fail = (why) => {
  console.log(JSON.stringify({ error: why }));
  process.exit(1);
};
setTimeout(() => fail("timed out"), 10_000);

function connect(name) {
  return new Promise((resolve) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(`${url}?user=ann`, ["v12.stomp", "v11.stomp", "v10.stomp"]),
      heartbeatIncoming: 1000,
      heartbeatOutgoing: 1000,
      reconnectDelay: 0,
      onConnect: (frame) => {
        log({ client: name, connected: frame.headers["version"], heartbeat: frame.headers["heart-beat"] });
        resolve(client);
      },
      onStompError: (frame) => fail(`${name}: ${frame.headers["message"]}: ${frame.body}`),
      onWebSocketError: () => fail(`${name}: the WebSocket failed`),
    });
    client.activate();
  });
}

const a = await connect("a");
const b = await connect("b");
let pending = 4;
const arrived = (entry) => {
  log(entry);
  seen.push(entry);
  if (--pending === 0) {
    log("done");
    a.deactivate();
    b.deactivate();
    setTimeout(() => process.exit(0), 100);
  }
};
for (const [name, client] of [["a", a], ["b", b]]) {
  client.subscribe("/topic/chat.lobby", (message) =>
    arrived({ client: name, destination: message.headers["destination"], body: message.body }));
  client.subscribe("/user/queue/reply", (message) =>
    arrived({ client: name, destination: message.headers["destination"], body: message.body }));
}
// Subscriptions first: a receipt on a later frame proves they were processed.
const receipt = "ready-" + Date.now();
a.watchForReceipt(receipt, () => {
  log({ receipt: true });
  a.publish({ destination: "/app/chat.lobby", body: "hello from stomp.js" });
  b.publish({ destination: "/app/whoami", body: "" });
});
a.publish({ destination: "/app/chat.noop", body: "", headers: { receipt } });
