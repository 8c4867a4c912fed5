// WebSockets over HTTP/2 in a browser: the chat example serves wss:// with a
// certificate made at test time, offering h2 by ALPN. Chromium loads the page
// over h2 and opens the chat's WebSocket as an extended CONNECT stream on the
// same connection (RFC 8441); the test records the protocol of both, from the
// page (the navigation's nextHopProtocol) and from the browser's network log
// (the WebSocket handshake's status: 200 on an HTTP/2 stream, 101 for an
// HTTP/1.1 upgrade), and checks that the chat works over it.
//
// Run with `npm test` in this directory, as the chat's page test. Needs
// `openssl` to make the certificate.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, skip, startChat, stopChat } from "./support.mjs";

const STEP = 10_000;

let server;
let browser;
let certificates;

before(async () => {
  if (skip) return;
  certificates = mkdtempSync(join(tmpdir(), "wsboot-h2-"));
  const cert = join(certificates, "cert.pem");
  const key = join(certificates, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });
  server = await startChat({ WSBOOT_TLS_CERT_FILE: cert, WSBOOT_TLS_KEY_FILE: key });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopChat(server);
  if (certificates) rmSync(certificates, { recursive: true, force: true });
});

test("the page's WebSocket runs over HTTP/2 on the page's connection", { skip, timeout: 60_000 }, async () => {
  assert.match(server.base, /^https:/);
  // The certificate is the test's own: trusted for this browser context only.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  const network = await context.newCDPSession(page);
  const handshakes = [];
  network.on("Network.webSocketHandshakeResponseReceived", (event) => handshakes.push(event.response));
  await network.send("Network.enable");

  await page.goto(server.base + "/");
  const pageProtocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  assert.equal(pageProtocol, "h2", "the page itself comes over HTTP/2");

  const room = `h2-${process.pid}`;
  await page.fill("#name", "ann");
  await page.fill("#room", room);
  await page.click("#join");
  await page.locator("#status", { hasText: /^connected$/ }).waitFor();
  assert.equal(handshakes.length, 1, "one WebSocket handshake");
  const protocol = handshakes[0].status === 200 ? "h2" : handshakes[0].status === 101 ? "http/1.1" : "?";
  console.log(`# page: ${pageProtocol}, WebSocket: ${protocol} (handshake status ${handshakes[0].status})`);
  assert.equal(protocol, "h2", "the WebSocket opened by extended CONNECT on an HTTP/2 stream");

  // The chat works over it: a second page in the room sees the first's message.
  const other = await context.newPage();
  other.setDefaultTimeout(STEP);
  await other.goto(server.base + "/");
  await other.fill("#name", "bob");
  await other.fill("#room", room);
  await other.click("#join");
  await other.locator("#status", { hasText: /^connected$/ }).waitFor();
  await page.fill("#text", "over one HTTP/2 connection");
  await page.press("#text", "Enter");
  await other.locator("#messages li", { hasText: "over one HTTP/2 connection" }).waitFor();
  await context.close();
});
