// The FakeKernel replays mdadm 4.2's real sysfs sequences (traces 01, 02, 03) and must end in
// the state the real kernel showed (console capture after vol1 create).
import assert from "node:assert/strict";
import { isErrno } from "../../../kernel/errno.ts";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import type { MdArray } from "../../../kernel/md/sysfs.ts";
import { parseCapture } from "./sysfs_tree.ts";

const FIX = new URL("../../fixtures/kernel/", import.meta.url);
const capture = parseCapture(Deno.readTextFileSync(new URL("console_sysfs_after_vol1.txt", FIX)));

const MDSTAT_AFTER_VOL1 = `Personalities : [raid0] [raid1] [raid10] [raid6] [raid5] [raid4] 
md125 : active raid0 vdc[2] vdb[1] vda[0]
      49152 blocks super external:/md127/1 64k chunks
      
md126 : active raid5 vdc[2] vdb[1] vda[0]
      32768 blocks super external:/md127/0 level 5, 64k chunk, algorithm 0 [3/3] [UUU]
      
md127 : inactive vdc[2](S) vdb[1](S) vda[0](S)
      3315 blocks super external:imsm
       
unused devices: <none>
`;

function threeDisks(): FakeKernel {
  return new FakeKernel([
    { name: "vda", sizeBytes: 64 << 20, majMin: "254:0" },
    { name: "vdb", sizeBytes: 64 << 20, majMin: "254:16" },
    { name: "vdc", sizeBytes: 64 << 20, majMin: "254:32" },
  ]);
}

/** The writes of traces 01/02/03, in their order. */
async function createLikeMdadm(k: FakeKernel): Promise<void> {
  const c = await k.createArray("md127");
  await c.setMetadataVersion("external:imsm");
  for (const d of ["vda", "vdb", "vdc"]) {
    await c.addMember(d, { offset: 128862n, sizeKiB: 1105n, states: ["external_bbl"] });
  }
  const vol = async (devnm: string, level: string, sub: number, arrayKiB: bigint, off: bigint) => {
    const v = await k.createArray(devnm);
    await v.write("metadata_version", `external:/md127/${sub}`);
    await v.write("level", level);
    await v.write("raid_disks", "3");
    await v.write("chunk_size", "65536");
    await v.write("layout", "0");
    await v.write("component_size", "16384");
    await v.write("array_size", String(arrayKiB));
    if (level !== "raid0") await v.write("resync_start", "0");
    for (const [slot, d] of ["vda", "vdb", "vdc"].entries()) {
      await v.addMember(d, { offset: off, sizeKiB: 16384n, slot, states: ["external_bbl"] });
    }
    await v.setArrayState(level === "raid0" ? "active" : "readonly");
    await v.write("safe_mode_delay", "4.000\n");
    return v;
  };
  const r5 = await vol("md126", "raid5", 0, 32768n, 0n);
  // what mdmon did: readonly + needs resync -> active; resync ran; then clean
  assert.equal(await r5.arrayState(), "readonly");
  await r5.setArrayState("active");
  assert.equal(await r5.syncAction(), "resync");
  k.md.advanceSync("md126", 1n << 40n);
  // trace 02: the resync's end reads write-pending until mdmon answers active
  assert.equal(await r5.arrayState(), "write-pending");
  await r5.setArrayState("active");
  await r5.setArrayState("clean");
  const r0 = await vol("md125", "raid0", 1, 49152n, 40960n);
  // raid0 is not monitored; mdmon is not involved, but its array went clean once idle
  k.md.goIdle("md125");
  await r0.setArrayState("clean");
}

Deno.test("fake reaches the real kernel's attribute values after mdadm's create sequence", async () => {
  const k = threeDisks();
  await createLikeMdadm(k);
  for (const [devnm, cap] of capture) {
    for (const [attr, value] of cap.attrs) {
      if (attr === "bitmap/location" || attr === "new_dev") continue;
      assert.equal(await k.md.read(devnm, attr), value, `${devnm}/${attr}`);
    }
    // attributes the capture could not read do not exist in the fake either
    for (const absent of ["sync_action", "sync_max", "sync_completed", "degraded", "suspend_lo"]) {
      if (!cap.attrs.has(absent)) assert.equal(await k.md.read(devnm, absent), null, absent);
    }
    assert.deepEqual(await k.md.memberNames(devnm), [...cap.members.keys()].sort());
    for (const [name, m] of cap.members) {
      const r = (a: string) => k.md.read(devnm, `dev-${name}/${a}`);
      assert.equal(await r("slot"), m.get("slot"), `${devnm} ${name} slot`);
      assert.equal(await r("offset"), m.get("offset"));
      assert.equal(await r("size"), m.get("size"));
      assert.equal(await r("state"), m.get("state"), `${devnm} ${name} state`);
      assert.equal(await r("recovery_start"), m.get("rs"), `${devnm} ${name} recovery_start`);
    }
  }
});

Deno.test("fake /proc/mdstat is byte-identical to the real one after the same sequence", async () => {
  const k = threeDisks();
  await createLikeMdadm(k);
  assert.equal(await k.mdstatText(), MDSTAT_AFTER_VOL1);
  const p = await k.mdstat();
  assert.deepEqual(p.arrays.map((a) => a.devnm), ["md125", "md126", "md127"]);
});

async function raid5(k: FakeKernel): Promise<MdArray> {
  await createLikeMdadm(k);
  return k.array("md126");
}

Deno.test("freeze, grow raid_disks with EAGAIN, checkpointed reshape with sync_max", async () => {
  const k = threeDisks();
  k.addDisk({ name: "vdd", sizeBytes: 64 << 20, majMin: "254:48" });
  const a = await raid5(k);
  await a.setBlocked(true);
  await a.setSyncAction("frozen");
  assert.equal(await a.syncAction(), "frozen");
  await a.addMember("vdd", { offset: 0n, sizeKiB: 16384n });
  assert.deepEqual(await a.member("vdd").state(), ["spare"]);
  // clean external array: the raid_disks write sleeps (write-pending) until user space marks
  // the array active, as md_allow_write does on Linux 6.1
  let pinged = 0;
  await a.setRaidDisks(4, {
    onWritePending: async () => {
      pinged++;
      assert.equal(await a.arrayState(), "write-pending");
      assert.equal(await a.read("safe_mode_delay"), "0.000", "zero while raid_disks is written");
      await a.setArrayState("active"); // what mdmon does on write-pending
    },
  });
  assert.equal(pinged, 1);
  assert.equal(await a.read("safe_mode_delay"), "4.000", "restored after the write");
  await a.member("vdd").setSlot(3);
  await a.setSyncMax(2048n);
  await a.setSuspendWindow(0n, 6144n);
  await a.setSyncAction("reshape");
  assert.deepEqual(await a.raidDisks(), { value: 4, old: 3 });
  k.md.advanceSync("md126", 100000n);
  // stops at sync_max, like the real capture: sc=2048 / 32768, rp=6144
  assert.deepEqual(await a.syncCompleted(), { done: 2048n, total: 32768n });
  assert.equal(await a.reshapePosition(), 6144n);
  const mdstat = await k.mdstat();
  assert.equal(mdstat.arrays.find((x) => x.devnm === "md126")?.progress?.action, "reshape");
  await a.setSyncMax("max");
  k.md.advanceSync("md126", 1n << 40n);
  assert.equal(await a.syncAction(), "idle");
  assert.equal(await a.reshapePosition(), "none");
  assert.deepEqual(await a.raidDisks(), { value: 4, old: null });
  await a.setBlocked(false, true);
  assert.equal((await a.metadataVersion() as { blocked: boolean }).blocked, false);
});

Deno.test("without a responder the raid_disks write waits for somebody to write active", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  let done = false;
  const w = a.write("raid_disks", "4").then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  assert.equal(await a.arrayState(), "write-pending");
  await a.setArrayState("active");
  await w;
  assert.equal(done, true);
  assert.equal(await a.arrayState(), "active");
});

Deno.test("write-pending on a clean external array until active is written", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  const w = await a.watch(["array_state"]);
  const waiting = w.wait(1000);
  k.md.writeArrives("md126");
  const r = await waiting;
  assert.equal(r.timedOut, false);
  assert.deepEqual(r.changed, ["array_state"]);
  assert.equal(r.values.get("array_state"), "write-pending");
  await a.setArrayState("active");
  k.md.goIdle("md126");
  assert.equal(await a.arrayState(), "active-idle");
  const t = await w.wait(20);
  assert.equal(t.values.get("array_state"), "active-idle");
  const quiet = await w.wait(20);
  assert.equal(quiet.timedOut, true);
  w.close();
});

Deno.test("a sync's end on an external array reads write-pending until active, then as before", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  // a check on the clean array: md_do_sync raises a superblock update on its way out
  await a.setSyncAction("check");
  const w = await a.watch(["array_state"]);
  k.md.advanceSync("md126", 1n << 40n);
  assert.equal((await w.wait(1000)).values.get("array_state"), "write-pending");
  w.close();
  assert.equal(await a.syncAction(), "idle");
  // answered, the array reads what it read before: the update changed neither in_sync nor
  // safe mode (the real kernel at the end of a reshape: active-idle again)
  await a.setArrayState("active");
  assert.equal(await a.arrayState(), "clean");
  // an interrupted sync ends the same way
  await a.setSyncAction("check");
  await a.setSyncAction("frozen");
  assert.equal(await a.arrayState(), "write-pending");
  await a.setArrayState("active");
  assert.equal(await a.arrayState(), "clean");
  // reaching sync_max is no end: the sync waits there, the array stays clean
  await a.write("sync_max", "2048");
  await a.setSyncAction("check");
  k.md.advanceSync("md126", 1n << 40n);
  assert.equal(await a.read("sync_completed"), "2048 / 32768");
  assert.equal(await a.arrayState(), "clean");
  // a write arriving meanwhile dirties the array: answered, it is active
  k.md.writeArrives("md126");
  await a.write("sync_max", "max");
  k.md.advanceSync("md126", 1n << 40n);
  assert.equal(await a.arrayState(), "write-pending");
  await a.setArrayState("active");
  assert.equal(await a.arrayState(), "active");
});

Deno.test("a sync's end on a native array raises nothing user space must answer", async () => {
  const k = threeDisks();
  const a = await k.createArray("md0");
  await a.write("metadata_version", "1.2");
  await a.write("level", "raid1");
  await a.write("raid_disks", "2");
  await a.write("resync_start", "0");
  for (const [slot, d] of ["vda", "vdb"].entries()) {
    await a.addMember(d, { offset: 2048n, sizeKiB: 16384n, slot });
  }
  await a.setArrayState("active");
  assert.equal(await a.syncAction(), "resync");
  k.md.advanceSync("md0", 1n << 40n);
  assert.equal(await a.syncAction(), "idle");
  assert.notEqual(await a.arrayState(), "write-pending");
});

Deno.test("a member failing on a clean external array: write-pending, answered it is clean", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  assert.equal(await a.arrayState(), "clean");
  await a.member("vdb").setState("faulty");
  assert.equal(await a.arrayState(), "write-pending");
  await a.setArrayState("active");
  assert.equal(await a.arrayState(), "clean");
});

Deno.test("stop: EBUSY while open, then the md device disappears (as on Linux 6.1)", async () => {
  const k = threeDisks();
  await raid5(k);
  k.md.setOpeners("md126", 1);
  await assert.rejects(
    () => k.stopArray("md126", { busyRetryMs: 0 }),
    (e) => isErrno(e, "EBUSY"),
  );
  // a short-lived opener (udev's blkid) only delays the stop
  setTimeout(() => k.md.setOpeners("md126", 0), 50);
  await k.stopArray("md126");
  assert.equal(await k.array("md126").exists(), false);
  assert.ok(!(await k.mdstatText()).includes("md126"));
  assert.ok(!(await k.md.arrays()).includes("md126"));
  // container members cannot be removed while a volume uses them; they can after stop
  await k.array("md125").stop();
  await k.md.write("md127", "dev-vda/state", "remove");
  assert.deepEqual(await k.md.memberNames("md127"), ["vdb", "vdc"]);
});

Deno.test("kernel-side refusals are named errors", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  await assert.rejects(() => a.write("level", "raid7"), (e) => isErrno(e, "EINVAL"));
  await assert.rejects(() => a.member("vda").setOffset(8n), (e) => isErrno(e, "EBUSY"));
  await assert.rejects(() => a.addDevice("254:0"), (e) => isErrno(e, "EBUSY"));
  await assert.rejects(() => a.addDevice("7:7"), (e) => isErrno(e, "ENXIO"));
  await assert.rejects(() => a.read("new_dev"), (e) => isErrno(e, "EACCES"));
  await assert.rejects(() => k.array("md125").setSyncAction("idle"), (e) => isErrno(e, "ENOENT"));
  await assert.rejects(() => k.createArray("md126"), (e) => isErrno(e, "EEXIST"));
  assert.equal((await k.createArray()).devnm, "md124");
});

Deno.test("failing a member degrades the array; recovery brings it back", async () => {
  const k = threeDisks();
  const a = await raid5(k);
  await a.member("vdb").setState("faulty");
  assert.equal(await a.degraded(), 1);
  assert.equal((await k.mdstat()).arrays.find((x) => x.devnm === "md126")?.status, "U_U");
  await a.member("vdb").setSlot(null);
  await a.member("vdb").setState("remove");
  k.addDisk({ name: "vdd", sizeBytes: 64 << 20, majMin: "254:48" });
  await a.addMember("vdd", { offset: 0n, sizeKiB: 16384n });
  await a.member("vdd").setSlot(1);
  await a.setSyncAction("recover");
  assert.equal(
    (await k.mdstat()).arrays.find((x) => x.devnm === "md126")?.progress?.action,
    "recovery",
  );
  k.md.advanceSync("md126", 1n << 40n);
  assert.equal(await a.degraded(), 0);
  assert.deepEqual(await a.member("vdd").state(), ["in_sync"]);
});

Deno.test("fake disks: writes through the seam, crash drops what was not flushed", async () => {
  const k = threeDisks();
  const data = new Uint8Array(512).fill(0xab);
  await k.writer.write({ device: "/dev/vda", offset: 0n, data, purpose: "metadata", what: "a" });
  await k.writer.flush("/dev/vda");
  await k.writer.write({ device: "/dev/vda", offset: 512n, data, purpose: "metadata", what: "b" });
  k.disks.crash();
  assert.deepEqual(await k.blocks.read("/dev/vda", 0n, 512), data);
  assert.deepEqual(await k.blocks.read("/dev/vda", 512n, 512), new Uint8Array(512));
  await assert.rejects(() => k.blocks.read("/dev/vda", 1n, 512), (e) => isErrno(e, "EINVAL"));
  assert.equal(await k.blocks.size("/dev/vdc"), BigInt(64 << 20));
  const vda = await k.device("vda");
  assert.equal(vda?.major, 254);
  assert.deepEqual(vda?.holders, []);
});

Deno.test("reshape held inside an old stripe row: I/O past it waits, suspend writes would hang", async () => {
  const k = threeDisks();
  k.addDisk({ name: "vdd", sizeBytes: 64 << 20, majMin: "254:48" });
  const a = await raid5(k);
  await a.setSyncAction("frozen");
  await a.addMember("vdd", { offset: 0n, sizeKiB: 16384n });
  await a.setRaidDisks(4, { onWritePending: () => a.setArrayState("active") });
  await a.member("vdd").setSlot(3);
  // held at array sector 6000: inside old row [5888, 6144) (64 KiB x 2 data disks)
  await a.setSyncMax(2000n);
  await a.setSuspendWindow(0n, 6000n);
  await a.setSyncAction("reshape");
  k.md.advanceSync("md126", 100000n);
  assert.equal(await a.reshapePosition(), 6000n);
  assert.equal(k.md.ioArrives("md126", 5000n), "served", "new layout, below the position");
  assert.equal(k.md.ioArrives("md126", 6200n), "served", "a row that begins at or past it");
  assert.equal(k.md.ioArrives("md126", 6100n), "trapped");
  assert.equal(k.md.trappedIo("md126"), 1);
  const hang = await a.setSuspendWindow(6000n, 9000n).then(() => null, (e) => e);
  assert.ok(isErrno(hang, "EDEADLK"), String(hang));
  assert.match(String(hang), /md would hang: 1 I\/O wait\(s\) .* array sector 6144/);
  const lower = await a.setSyncMax(1000n).then(() => null, (e) => e);
  assert.ok(isErrno(lower, "EBUSY"), `md refuses to lower sync_max under a reshape: ${lower}`);
  // the reshape moves past the row: the I/O is served, suspend can be written
  await a.setSyncMax(2048n);
  k.md.advanceSync("md126", 100000n);
  assert.equal(await a.reshapePosition(), 6144n);
  assert.equal(k.md.trappedIo("md126"), 0);
  await a.setSuspendWindow(6144n, 9216n);
  assert.equal(k.md.ioArrives("md126", 6200n), "served", "held on a row border");
});
