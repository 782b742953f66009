/** The control-socket wire format against the bytes observed between mdadm 4.2 and mdmon. */
import assert from "node:assert/strict";
import {
  decodeUpdate,
  encodeAck,
  encodeCheckpointUpdate,
  encodePing,
  encodePingManager,
  encodePingReply,
  FrameReader,
  pingReplyText,
  ProtocolError,
  requestOf,
} from "../../../core/monitor/protocol.ts";
import { applyUpdate, devOfPacked, StaleUpdate } from "../../../core/monitor/updates.ts";
import { setup } from "./setup.ts";
import { MIGR_TYPE } from "../../../meta/imsm/constants.ts";
import { volumeName } from "../../../meta/imsm/accessors.ts";
import { createArrayUpdate } from "../../../core/lifecycle/monitor_client.ts";
import { addVolume } from "../../../meta/imsm/edit/mod.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("protocol: pings and acks are the observed 12-byte frames", () => {
  assert.equal(hex(encodePing()), "a5 a5 5a 5a 00 00 00 00 5a 5a a5 a5");
  assert.equal(hex(encodeAck()), "a5 a5 5a 5a 00 00 00 00 5a 5a a5 a5");
  assert.equal(hex(encodePingManager()), "a5 a5 5a 5a ff ff ff ff 5a 5a a5 a5");
});

Deno.test("protocol: the ping reply carries the version text and its NUL, as mdmon 4.2's", () => {
  const observed = "mdadm - v4.2 - 2021-12-30 - Debian 4.2-5\n";
  const bytes = encodePingReply(observed);
  assert.equal(bytes.length, 12 + 42);
  assert.equal(new DataView(bytes.buffer).getInt32(4, true), 42);
  assert.equal(bytes[8 + 41], 0);
  const r = new FrameReader();
  r.push(bytes);
  assert.equal(pingReplyText(r.next()!), observed);
});

Deno.test("protocol: frames arrive in pieces; garbage and oversize are refused", () => {
  const blob = encodeCheckpointUpdate(1234n);
  const frame = encodePing();
  const r = new FrameReader();
  const all = new Uint8Array([
    ...frame,
    ...new Uint8Array([0xa5, 0xa5, 0x5a, 0x5a, 16, 0, 0, 0]),
    ...blob,
    0x5a,
    0x5a,
    0xa5,
    0xa5,
  ]);
  for (const b of all) r.push(new Uint8Array([b]));
  assert.deepEqual(requestOf(r.next()!), { kind: "ping-monitor" });
  const u = requestOf(r.next()!);
  assert.equal(u.kind, "update");
  assert.equal(r.next(), null);
  assert.equal(r.pending, 0);

  const bad = new FrameReader();
  bad.push(new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.throws(() => bad.next(), ProtocolError);
  const big = new FrameReader();
  big.push(new Uint8Array([0xa5, 0xa5, 0x5a, 0x5a, 0, 0, 0x50, 0]));
  assert.throws(() => big.next(), /over the 4194304 byte limit/);
});

Deno.test("protocol: observed update blobs decode (checkpoint, OCE with the new disk's dev_t)", () => {
  const ckpt = new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(decodeUpdate(ckpt), {
    type: "general_migration_checkpoint",
    blob: ckpt,
    unit: 5n,
  });
  const oce = new Uint8Array([5, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0x30, 0xfe, 0, 0]);
  const d = decodeUpdate(oce);
  assert.equal(d.type, "reshape_container_disks");
  if (d.type !== "reshape_container_disks") return;
  assert.deepEqual([d.oldRaidDisks, d.newRaidDisks, d.newDisks], [3, 4, [0xfe30]]);
  assert.equal(devOfPacked(d.newDisks[0]), "254:48");
  assert.equal(devOfPacked((259 << 8) | 1 | (0x123 << 20)), "259:" + String(1 | (0x123 << 8)));
});

Deno.test("updates: OCE update starts the general migration onto the named spare; checkpoints follow", async () => {
  const s = await setup({ clean: true, spares: 1 });
  const oce = decodeUpdate(new Uint8Array([5, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0x30, 0xfe, 0, 0]));
  let c = applyUpdate(
    s.model.container,
    oce,
    (dev) => s.model.disks.find((d) => d.majMin === dev)?.serial ?? null,
  );
  assert.equal(c.mpb.volumes[0].migrType, MIGR_TYPE.GEN_MIGR);
  assert.equal(c.mpb.volumes[0].maps[0].numMembers, 4);
  c = applyUpdate(c, decodeUpdate(encodeCheckpointUpdate(3n)), () => null);
  assert.equal(c.mpb.volumes[0].currMigrUnitLo, 3);
  assert.throws(
    () => applyUpdate(s.model.container, decodeUpdate(encodeCheckpointUpdate(3n)), () => null),
    (e: unknown) =>
      e instanceof StaleUpdate && /no volume is in a general migration/.test(e.message),
  );
});

Deno.test("updates: create_array from our CLI adds the second volume the way our editor would", async () => {
  const s = await setup({ clean: true, sizeKiB: 8192 });
  const expected = addVolume(s.model.container, {
    name: "vol1",
    level: 5,
    members: ["/dev/vda", "/dev/vdb", "/dev/vdc"],
    chunkKiB: 64,
    sizeKiB: 8192,
  });
  const blob = createArrayUpdate(expected.mpb, 1);
  const got = applyUpdate(s.model.container, decodeUpdate(blob), () => null);
  assert.equal(got.mpb.volumes.length, 2);
  assert.equal(volumeName(got.mpb.volumes[1]), "vol1");
  assert.deepEqual(got.mpb.volumes[1], expected.mpb.volumes[1]);
  assert.equal(got.mpb.numRaidDevsCreated, expected.mpb.numRaidDevsCreated);
  assert.deepEqual(got.mpb.signature, expected.mpb.signature);
  assert.throws(() => applyUpdate(got, decodeUpdate(blob), () => null), /out of order/);
});
