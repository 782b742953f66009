/** The monitor process on the FakeKernel: pid file, root-only socket, pings and updates, exit. */
import assert from "node:assert/strict";
import { setup } from "./setup.ts";
import {
  pidPath,
  pingSocket,
  runDaemon,
  sendUpdates,
  socketPath,
} from "../../../core/monitor/daemon.ts";
import { volumeName } from "../../../meta/imsm/accessors.ts";
import { acceptedPeers } from "../../../kernel/peer_cred.ts";

function renameBlob(subarray: number, name: string): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  v.setInt32(0, 3, true);
  out.set(new TextEncoder().encode(name), 4);
  v.setInt32(20, subarray, true);
  return out;
}

Deno.test("daemon: pid file and 0600 socket, ping answered, updates applied before the ping reply, exit when the arrays stop", async () => {
  const s = await setup({ clean: true });
  const runDir = await Deno.makeTempDir();
  const logs: string[] = [];
  let readyCalled = false;
  const done = runDaemon(s.kernel, {
    devnm: "md127",
    takeover: false,
    runDir,
    env: (k) => (k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined),
    log: (m) => logs.push(m),
  }, () => (readyCalled = true));
  // wait for the socket
  for (let i = 0; i < 100 && !readyCalled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(readyCalled);
  assert.equal((await Deno.readTextFile(pidPath(runDir, "md127"))).trim(), String(Deno.pid));
  const st = await Deno.lstat(socketPath(runDir, "md127"));
  assert.equal(st.mode! & 0o777, 0o600);
  assert.equal((await Deno.lstat(pidPath(runDir, "md127"))).mode! & 0o777, 0o600);

  const version = await pingSocket(socketPath(runDir, "md127"), 5000);
  assert.match(version ?? "", /^mdadm - v4\.2/);

  assert.equal(
    await sendUpdates(socketPath(runDir, "md127"), [renameBlob(0, "data0")], 5000),
    null,
  );
  assert.equal(
    volumeName((await s.onDisk()).mpb.volumes[0]),
    "data0",
    "renamed on disk at ping reply",
  );

  // a write: the monitor lets it through
  s.kernel.md.writeArrives("md126");
  for (let i = 0; i < 100 && (await s.kernel.array("md126").arrayState()) !== "active"; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await s.kernel.array("md126").arrayState(), "active");
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 1);

  await s.kernel.array("md126").setArrayState("clear");
  const result = await done;
  assert.deepEqual(result, { kind: "exited", code: 0 });
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 0, "left clean");
  await assert.rejects(Deno.lstat(pidPath(runDir, "md127")));
  await assert.rejects(Deno.lstat(socketPath(runDir, "md127")));
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("daemon: a log that cannot be written (EPIPE) does not stop the monitor recording dirty/clean", async () => {
  const s = await setup({ clean: true });
  const runDir = await Deno.makeTempDir();
  let readyCalled = false;
  let attempts = 0;
  const done = runDaemon(s.kernel, {
    devnm: "md127",
    takeover: false,
    runDir,
    env: (k) => (k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined),
    // what Deno.stderr.writeSync throws once the reader of a stderr pipe has exited
    log: () => {
      attempts++;
      throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
    },
  }, () => (readyCalled = true));
  for (let i = 0; i < 100 && !readyCalled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(readyCalled);

  s.kernel.md.writeArrives("md126");
  for (let i = 0; i < 100 && (await s.kernel.array("md126").arrayState()) !== "active"; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await s.kernel.array("md126").arrayState(), "active");
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 1, "dirty recorded despite the log");
  assert.match(
    (await pingSocket(socketPath(runDir, "md127"), 5000)) ?? "",
    /^mdadm - v4\.2/,
    "still answering after failed log lines",
  );
  assert.ok(attempts > 0, "the monitor did try to log");

  await s.kernel.array("md126").setArrayState("clear");
  assert.deepEqual(await done, { kind: "exited", code: 0 });
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 0, "left clean");
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("daemon: the socket serves root (or its own user) only, by SO_PEERCRED of the accepted connection", async () => {
  const s = await setup({ clean: true });
  const runDir = await Deno.makeTempDir();
  const logs: string[] = [];
  let readyCalled = false;
  let strangerUid: number | null = null;
  const done = runDaemon(s.kernel, {
    devnm: "md127",
    takeover: false,
    runDir,
    env: (k) => (k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined),
    log: (m) => logs.push(m),
    // the real lookup, with the peer's uid replaced while a stranger is simulated
    acceptedPeers: (bound) =>
      acceptedPeers(bound).map((p) => (strangerUid === null ? p : { ...p, uid: strangerUid })),
  }, () => (readyCalled = true));
  for (let i = 0; i < 100 && !readyCalled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(readyCalled);
  const sock = socketPath(runDir, "md127");

  assert.match((await pingSocket(sock, 5000)) ?? "", /^mdadm - v4\.2/, "our own user is served");
  strangerUid = 4242;
  assert.equal(await pingSocket(sock, 5000), null, "a stranger gets no answer");
  assert.ok(
    logs.some((l) =>
      /connection from pid \d+ \(uid 4242\) refused: the monitor serves root only/.test(l)
    ),
    logs.join("\n"),
  );
  strangerUid = null;
  assert.match((await pingSocket(sock, 5000)) ?? "", /^mdadm - v4\.2/, "served again after");

  await s.kernel.array("md126").setArrayState("clear");
  assert.deepEqual(await done, { kind: "exited", code: 0 });
  await Deno.remove(runDir, { recursive: true });
});
