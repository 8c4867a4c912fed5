// The chat example's page, driven in headless Chromium: two pages join one room,
// one sends a message, the other shows it; a page in another room does not.
// Every page's connection negotiates permessage-deflate.
//
// Run with `npm test` in this directory (after `npm ci`). It builds and starts
// the example itself (`cargo build --release --example chat`), or runs the
// binary named by CHAT_BIN. Chromium is /usr/bin/chromium or CHROMIUM; without
// it the test is skipped, except under CI, where that is a failure.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const inCi = Boolean(process.env.CI) && process.env.CI !== "false";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && !inCi) {
  console.log(`# skipping the browser test: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`);
}
const skip = haveChromium ? false : `no Chromium at ${chromiumPath}`;
if (!haveChromium && inCi) {
  throw new Error(`CI is set but there is no Chromium at ${chromiumPath}: .ci/run installs Debian's chromium package`);
}

// Every wait is bounded: a broken page fails the test instead of hanging it.
const STEP = 10_000;

let server; // { process, base }
let browser;

/** The chat example's binary: CHAT_BIN, or what cargo builds. */
function chatBinary() {
  if (process.env.CHAT_BIN) return process.env.CHAT_BIN;
  const out = execFileSync("cargo", ["build", "--release", "--example", "chat", "--message-format=json"], {
    cwd: repo,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 << 20,
  });
  for (const line of out.split("\n").reverse()) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason === "compiler-artifact" && message.target?.name === "chat" && message.executable) {
      return message.executable;
    }
  }
  throw new Error("cargo built no `chat` example executable");
}

/** Starts the chat on a free port; resolves once it prints its ready line. */
function startChat(binary) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, ["--addr", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
    });
    const timer = setTimeout(() => reject(new Error("the chat example did not print its ready line in time")), 30_000);
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const ready = output.match(/^listening on ws:\/\/(\S+)$/m);
      if (ready) {
        clearTimeout(timer);
        resolvePromise({ process: child, base: `http://${ready[1]}` });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the chat example exited (${code}) before it was ready: ${output}`));
    });
  });
}

before(async () => {
  if (skip) return;
  server = await startChat(chatBinary());
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // The machine may have no network beyond loopback: keep Chromium from
    // reaching out (updates, sync, field trials), which only makes noise.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server) {
    server.process.kill("SIGTERM");
    await new Promise((done) => {
      if (server.process.exitCode !== null) return done();
      const force = setTimeout(() => server.process.kill("SIGKILL"), 10_000);
      server.process.on("exit", () => {
        clearTimeout(force);
        done();
      });
    });
  }
});

/** A page in its own browser context (its own cookies and storage), joined to `room` as `name`. */
async function joined(name, room) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.problems = problems;
  await page.goto(server.base + "/");
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join");
  await page.locator("#members li", { hasText: name }).waitFor();
  await page.locator("#status", { hasText: "connected" }).waitFor();
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
