/**
 * The grow's wait for a monitor reply survives being stopped: a process held by SIGSTOP past
 * its reply timeout, with the reply already sent, takes the reply on SIGCONT instead of
 * reporting "no reply" (grow_live stops the grow child; one run ended its grow that way).
 * A monitor that really never answers still times out.
 */
import assert from "node:assert/strict";

const hostModule = new URL("../../../core/lifecycle/host_linux.ts", import.meta.url).href;

/** Starts a child that connects to `sock`, sends 4 bytes and waits `timeoutMs` for 4 back. */
function client(sock: string, timeoutMs: number): Deno.ChildProcess {
  const code = `
    import { UnixMonitorConnection } from "${hostModule}";
    const conn = new UnixMonitorConnection(await Deno.connect({ transport: "unix", path: "${sock}" }));
    await conn.send(new Uint8Array([1, 2, 3, 4]));
    try {
      const got = await conn.receive(4, ${timeoutMs});
      console.log(got === null ? "timeout" : "reply " + got.join(","));
      await new Promise((r) => setTimeout(r, 200));
      await conn.send(new Uint8Array([5]));
      await conn.send(new Uint8Array([6]));
      console.log("sent");
    } catch (e) {
      console.log(e.name);
    }
    conn.close();
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function serve(
  timeoutMs: number,
  whileConnected: (conn: Deno.UnixConn, child: Deno.ChildProcess) => Promise<void>,
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const sock = `${dir}/mon.sock`;
  const listener = Deno.listen({ transport: "unix", path: sock });
  const child = client(sock, timeoutMs);
  const conn = await listener.accept();
  const ping = new Uint8Array(4);
  let got = 0;
  while (got < 4) got += (await conn.read(ping.subarray(got))) ?? 4;
  await whileConnected(conn, child);
  const out = await child.output();
  try {
    conn.close();
  } catch {
    // closed by the scenario
  }
  listener.close();
  await Deno.remove(dir, { recursive: true });
  return new TextDecoder().decode(out.stdout).trim() + new TextDecoder().decode(out.stderr);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("monitor reply: a client stopped past its timeout takes the reply that came meanwhile", async () => {
  const out = await serve(1500, async (conn, child) => {
    await sleep(300); // the client is waiting in receive() with its timer armed
    Deno.kill(child.pid, "SIGSTOP");
    await conn.write(new Uint8Array([9, 8, 7, 6]));
    await sleep(4000); // well past the client's 1.5 s
    Deno.kill(child.pid, "SIGCONT");
  });
  assert.equal(out, "reply 9,8,7,6\nsent");
});

Deno.test("monitor reply: a monitor that never answers still times out", async () => {
  const t0 = performance.now();
  const out = await serve(1500, async () => {});
  assert.equal(out, "timeout\nsent");
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds >= 1.4, `timed out after ${seconds} s, before its 1.5 s`);
});

Deno.test("monitor reply: a monitor that closes the connection is told apart from a silent one", async () => {
  const out = await serve(1500, (conn) => {
    conn.close();
    return Promise.resolve();
  });
  assert.equal(out, "MonitorConnectionClosed");
});

Deno.test("monitor reply: sending after the monitor closed is MonitorConnectionClosed", async () => {
  const out = await serve(5000, async (conn) => {
    await conn.write(new Uint8Array([1, 1, 1, 1]));
    conn.close();
  });
  assert.equal(out, "reply 1,1,1,1\nMonitorConnectionClosed");
});
