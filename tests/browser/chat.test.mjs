// The chat example's page, driven in headless Chromium: two pages join one room,
// one sends a message, the other shows it; a page in another room does not.
// Every page's connection negotiates permessage-deflate. A page whose connection
// drops (through a TCP proxy the test cuts) reconnects by itself, resumes the
// room, shows every message once, and delivers what was typed meanwhile once.
//
// Run with `npm test` in this directory (after `npm ci`). It builds and starts
// the example itself (`cargo build --release --example chat`), or runs the
// binary named by CHAT_BIN. Chromium is /usr/bin/chromium or CHROMIUM; without
// it the test is skipped, except under CI, where that is a failure.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect as tcpConnect } from "node:net";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchChromium, repo, skip, startChat, stopChat } from "./support.mjs";

// Every wait is bounded: a broken page fails the test instead of hanging it.
const STEP = 10_000;

let server; // { process, base }
let browser;

before(async () => {
  if (skip) return;
  server = await startChat();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopChat(server);
});

/**
 * A TCP proxy in front of the chat, on a free port, that the test controls:
 * `cut()` ends every connection through it abruptly (the page sees 1006, the
 * server a dropped connection); while `down`, new connections are dropped at
 * once; while `deaf`, what the server sends is swallowed (as if lost on the
 * way). Resolves to { base, cut, close } plus the two switches.
 */
function startProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const proxy = { down: false, deaf: false };
  const server = createServer((client) => {
    if (proxy.down) return client.destroy();
    const upstream = tcpConnect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.on("data", (data) => upstream.write(data));
    upstream.on("data", (data) => {
      if (!proxy.deaf) client.write(data);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  proxy.cut = () => sockets.forEach((socket) => socket.destroy());
  proxy.close = () => {
    proxy.cut();
    return new Promise((done) => server.close(done));
  };
  return new Promise((resolvePromise) =>
    server.listen(0, "127.0.0.1", () => {
      proxy.base = `http://127.0.0.1:${server.address().port}`;
      resolvePromise(proxy);
    }),
  );
}

/** A page in its own browser context (its own cookies and storage), joined to `room` as `name`. */
async function joined(name, room, base = server.base) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.problems = problems;
  await page.goto(base + "/");
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join");
  await page.locator("#members li", { hasText: name }).waitFor();
  await page.locator("#status", { hasText: /^connected$/ }).waitFor();
  return page;
}

function messageLines(page) {
  return page.locator("#messages li").allTextContents();
}

test("two pages in one room see each other's messages; a third room stays apart", { skip, timeout: 120_000 }, async () => {
  const room = `lobby-${process.pid}`;
  const ann = await joined("ann", room);
  const bob = await joined("bob", room);
  const cat = await joined("cat", `elsewhere-${process.pid}`);

  // Chromium offers permessage-deflate and the chat accepts it (RFC 7692).
  for (const page of [ann, bob, cat]) {
    assert.equal(await page.evaluate(() => state.socket.extensions), "permessage-deflate");
  }

  // Ann learns of Bob; Bob's member list already holds both.
  await ann.locator("#members li", { hasText: "bob" }).waitFor();
  await ann.locator("#messages li.notice", { hasText: "bob joined" }).waitFor();
  assert.deepEqual(await bob.locator("#members li").allTextContents(), ["ann", "bob"]);

  // Bob types and presses Enter; Ann's page shows it, and so does Bob's.
  await bob.fill("#text", "hello from bob <b>not bold</b>");
  await bob.press("#text", "Enter");
  const line = ann.locator("#messages li", { hasText: "hello from bob" });
  await line.waitFor();
  assert.equal(await line.locator(".user").textContent(), "bob");
  assert.equal(await line.locator("b").count(), 0, "message text is shown as text, not HTML");
  await bob.locator("#messages li.mine", { hasText: "hello from bob" }).waitFor();
  assert.equal(await bob.inputValue("#text"), "", "the input is cleared after sending");

  // Cat, in another room, talks to itself: once its own message is back, Bob's
  // message (published earlier) would have arrived too if it were going to.
  await cat.fill("#text", "anyone here?");
  await cat.click("#send");
  await cat.locator("#messages li", { hasText: "anyone here?" }).waitFor();
  const catLines = await messageLines(cat);
  assert.ok(!catLines.some((l) => l.includes("hello from bob")), `cat saw another room's message: ${catLines}`);
  assert.ok(!catLines.some((l) => l.includes("joined")), `cat saw another room's joins: ${catLines}`);
  assert.deepEqual(await cat.locator("#members li").allTextContents(), ["cat"]);

  // Ann's reply reaches Bob.
  await ann.fill("#text", "hi bob");
  await ann.click("#send");
  await bob.locator("#messages li", { hasText: "hi bob" }).waitFor();

  mkdirSync(join(repo, "target", "browser"), { recursive: true });
  await ann.screenshot({ path: join(repo, "target", "browser", "chat-ann.png") });

  // Bob leaves: Ann's member list drops him and says so.
  await bob.click("#leave");
  await ann.locator("#messages li.notice", { hasText: "bob left" }).waitFor();
  assert.deepEqual(await ann.locator("#members li").allTextContents(), ["ann"]);

  for (const page of [ann, bob, cat]) {
    assert.deepEqual(page.problems, [], "no script errors");
    await page.context().close();
  }
});

test("a taken nickname is refused with the reason, and the page stays on the form", { skip, timeout: 60_000 }, async () => {
  const room = `taken-${process.pid}`;
  const first = await joined("dora", room);
  const context = await browser.newContext();
  const second = await context.newPage();
  second.setDefaultTimeout(STEP);
  await second.goto(server.base + "/");
  await second.fill("#name", "dora");
  await second.fill("#room", room);
  await second.click("#join");
  await second.locator("#status", { hasText: "already taken" }).waitFor();
  assert.equal(await second.locator("#join-form").isVisible(), true);
  assert.equal(await second.locator("#chat").isVisible(), false);
  await first.context().close();
  await context.close();
});

test("a page whose connection drops resumes the room: every message once, what was typed meanwhile delivered once", { skip, timeout: 120_000 }, async () => {
  const room = `flaky-${process.pid}`;
  const proxy = await startProxy(server.base);
  try {
    const ann = await joined("ann", room, proxy.base);
    const bob = await joined("bob", room);
    await ann.locator("#messages li.notice", { hasText: "bob joined" }).waitFor();
    const say = async (page, text) => {
      await page.fill("#text", text);
      await page.press("#text", "Enter");
    };
    await say(bob, "m1 before the drop");
    await ann.locator("#messages li", { hasText: "m1 before the drop" }).waitFor();

    // Ann's page hears nothing more: her next message reaches the room, but
    // neither it nor its ack comes back to her before the connection drops.
    proxy.deaf = true;
    await say(ann, "m2 ack lost");
    await bob.locator("#messages li", { hasText: "m2 ack lost" }).waitFor();
    await say(bob, "m3 while ann hears nothing");
    await bob.locator("#messages li", { hasText: "m3 while ann hears nothing" }).waitFor();

    // The connection drops, and reconnecting fails for a while.
    proxy.down = true;
    proxy.cut();
    await ann.locator("#status", { hasText: "reconnecting" }).waitFor();
    proxy.deaf = false;
    await say(ann, "m4 typed while offline");
    await say(bob, "m5 while ann is away");
    await bob.locator("#messages li", { hasText: "m5 while ann is away" }).waitFor();
    await new Promise((done) => setTimeout(done, 1_000));
    proxy.down = false;

    // Back: ann's page catches up and sends what was not acked.
    await ann.locator("#status", { hasText: /^connected$/ }).waitFor();
    await bob.locator("#messages li", { hasText: "m4 typed while offline" }).waitFor();
    await say(bob, "m6 after the return");
    await ann.locator("#messages li", { hasText: "m6 after the return" }).waitFor();
    await ann.locator("#messages li", { hasText: "m4 typed while offline" }).waitFor();
    // Ann's resend of m2 (never acked) and her page's own last message are
    // through: if anything were doubled, it would be here by now.
    await say(ann, "m7 last");
    await bob.locator("#messages li", { hasText: "m7 last" }).waitFor();
    await ann.locator("#messages li", { hasText: "m7 last" }).waitFor();

    // m4 is published when ann's page is back, so after m5.
    const texts = ["m1 before the drop", "m2 ack lost", "m3 while ann hears nothing", "m5 while ann is away",
      "m4 typed while offline", "m6 after the return", "m7 last"];
    for (const page of [ann, bob]) {
      const lines = (await messageLines(page)).filter((line) => /m\d /.test(line));
      const who = await page.evaluate(() => state.name);
      assert.deepEqual(lines.map((line) => line.replace(/^(ann|bob)/, "")), texts, `${who} shows each message once, in order`);
    }
    assert.equal(await ann.locator("#messages li", { hasText: "may be missing" }).count(), 0, "recovered");
    assert.deepEqual(await ann.evaluate(() => state.pending), [], "everything acked");
    // Both are in the room (in which order depends on whether the server saw
    // ann's old connection end before she came back).
    assert.deepEqual((await ann.locator("#members li").allTextContents()).sort(), ["ann", "bob"]);
    assert.deepEqual((await bob.locator("#members li").allTextContents()).sort(), ["ann", "bob"]);
    for (const page of [ann, bob]) {
      assert.deepEqual(page.problems, [], "no script errors");
      await page.context().close();
    }
  } finally {
    await proxy.close();
  }
});
