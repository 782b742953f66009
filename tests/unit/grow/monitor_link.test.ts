/**
 * The grow's link to the monitor: a connection the monitor closed mid-exchange (it drops a
 * client that went quiet, as a stopped grow does) is replaced, and only the frames not yet
 * answered are sent again; a monitor that stays silent still fails the exchange.
 */
import assert from "node:assert/strict";
import { SocketMonitorLink } from "../../../core/grow/monitor_link.ts";
import { type MonitorConnection, MonitorConnectionClosed } from "../../../core/lifecycle/host.ts";
import { encodeAck, encodePingReply, FrameReader } from "../../../core/monitor/protocol.ts";

/** A scripted connection: answers each frame it receives, or closes after `closeAfter` frames. */
class ScriptedConnection implements MonitorConnection {
  #out: Uint8Array = new Uint8Array(0);
  constructor(
    readonly sent: Uint8Array[],
    readonly closeAfter: number | null,
    readonly silent = false,
  ) {}

  send(bytes: Uint8Array): Promise<void> {
    if (this.closeAfter !== null && this.sent.length >= this.closeAfter) {
      return Promise.reject(new MonitorConnectionClosed("md127", "send"));
    }
    this.sent.push(bytes);
    const reader = new FrameReader();
    reader.push(bytes);
    const f = reader.next()!;
    if (!this.silent) this.#out = f.length === 0 ? encodePingReply() : encodeAck();
    return Promise.resolve();
  }

  receive(n: number): Promise<Uint8Array | null> {
    if (this.#out.length < n) return Promise.resolve(null);
    const got = this.#out.slice(0, n);
    this.#out = this.#out.slice(n);
    return Promise.resolve(got);
  }

  close(): void {}
}

Deno.test("monitor link: the monitor closes after the update's ack; the ping goes on a new connection, the update is not resent", async () => {
  const connections: Uint8Array[][] = [];
  const script = [1, null];
  const link = new SocketMonitorLink("md127", () => {
    const sent: Uint8Array[] = [];
    connections.push(sent);
    return Promise.resolve(new ScriptedConnection(sent, script[connections.length - 1] ?? null));
  });
  await link.update(new Uint8Array([2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(connections.length, 2);
  assert.equal(connections[0].length, 1, "the update, answered");
  assert.equal(connections[1].length, 1, "only the ping");
  assert.equal(new DataView(connections[1][0].buffer).getInt32(4, true), 0, "a ping frame");
});

Deno.test("monitor link: a monitor that closes every connection fails after three", async () => {
  let connects = 0;
  const link = new SocketMonitorLink("md127", () => {
    connects++;
    return Promise.resolve(new ScriptedConnection([], 0));
  });
  await assert.rejects(link.ping(), /closed the connection.*3 times/);
  assert.equal(connects, 3);
});

Deno.test("monitor link: silence is a timeout, not retried", async () => {
  let connects = 0;
  const link = new SocketMonitorLink("md127", () => {
    connects++;
    return Promise.resolve(new ScriptedConnection([], null, true));
  }, 10);
  await assert.rejects(link.ping(), /no reply within 10 ms/);
  assert.equal(connects, 1);
});
