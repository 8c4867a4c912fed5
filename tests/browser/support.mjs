// What the browser tests share: the repository, Chromium (or why the tests
// skip), the chat example's binary and its process.

import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const inCi = Boolean(process.env.CI) && process.env.CI !== "false";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && !inCi) {
  console.log(`# skipping the browser tests: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`);
}
/** `false`, or why the browser tests skip (for node:test's `skip`). */
export const skip = haveChromium ? false : `no Chromium at ${chromiumPath}`;
if (!haveChromium && inCi) {
  throw new Error(`CI is set but there is no Chromium at ${chromiumPath}: .ci/run installs Debian's chromium package`);
}

/** Headless Chromium, with `extraArgs` after the usual ones. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
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
      ...extraArgs,
    ],
  });
}

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

/**
 * Starts the chat on a free port, with `env` added to its environment (its
 * settings, such as a TLS certificate); resolves to { process, base } once it
 * prints its ready line (`base` is http:// or https://).
 */
export function startChat(env = {}) {
  const binary = chatBinary();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, ["--addr", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn", ...env },
    });
    const timer = setTimeout(() => reject(new Error("the chat example did not print its ready line in time")), 30_000);
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const ready = output.match(/^listening on (wss?):\/\/(\S+)$/m);
      if (ready) {
        clearTimeout(timer);
        const scheme = ready[1] === "wss" ? "https" : "http";
        resolvePromise({ process: child, base: `${scheme}://${ready[2]}` });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the chat example exited (${code}) before it was ready: ${output}`));
    });
  });
}

/** Stops a chat started by `startChat` (SIGTERM, then SIGKILL after 10 s). */
export async function stopChat(server) {
  if (!server) return;
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
