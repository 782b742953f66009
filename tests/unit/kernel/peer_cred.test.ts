/** SO_PEERCRED of accepted unix-socket connections, on this machine's real kernel. */
import assert from "node:assert/strict";
import { acceptedPeers } from "../../../kernel/peer_cred.ts";

Deno.test("acceptedPeers: the accepted connection's pid and uid, found by the bound name even after a rename", async () => {
  const dir = await Deno.makeTempDir();
  const bound = `${dir}/.md127.sock.tmp`;
  const listener = Deno.listen({ transport: "unix", path: bound });
  await Deno.rename(bound, `${dir}/md127.sock`);
  assert.deepEqual(acceptedPeers(bound), [], "a listening socket is not a connection");
  const client = await Deno.connect({ transport: "unix", path: `${dir}/md127.sock` });
  const conn = await listener.accept();
  const peers = acceptedPeers(bound);
  assert.equal(peers.length, 1, JSON.stringify(peers));
  assert.equal(peers[0].pid, Deno.pid);
  assert.equal(peers[0].uid, Deno.uid());
  assert.deepEqual(acceptedPeers(`${dir}/other.sock`), []);
  conn.close();
  client.close();
  assert.deepEqual(acceptedPeers(bound), [], "gone once closed");
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "acceptedPeers: a client running as another user (nobody) is seen with its own uid",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o777);
    const path = `${dir}/md127.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o666);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const c = await Deno.connect({ transport: "unix", path: ${JSON.stringify(path)} });` +
        `await c.read(new Uint8Array(1)); c.close();`,
      ],
      uid: 65534,
      gid: 65534,
      env: { DENO_DIR: `${dir}/deno`, HOME: dir, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const conn = await listener.accept();
    const peers = acceptedPeers(path);
    await conn.write(new Uint8Array([0]));
    conn.close();
    const status = await child.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    assert.equal(peers.length, 1, JSON.stringify(peers));
    assert.equal(peers[0].uid, 65534);
    assert.equal(peers[0].pid, child.pid);
    listener.close();
    await Deno.remove(dir, { recursive: true });
  },
});
