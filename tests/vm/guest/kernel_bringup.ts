/**
 * Guest-side probe: mdts brings an md array up from nothing through sysfs (no mdadm), uses it,
 * and stops it. Prints JSON.
 *
 *   kernel_bringup.ts raid0 vdb vdc            create, write a pattern, check the raid0 layout
 *                                              on the members, stop with STOP_ARRAY
 *   kernel_bringup.ts poll vdb vdc READY_FILE  raid1 started readonly; waits on array_state
 *                                              (poll) until the host changes it; then stops
 */
import { LinuxKernel } from "../../../kernel/real.ts";
import type { MdArray } from "../../../kernel/md/sysfs.ts";
import { configureArray } from "../../../kernel/md/create.ts";
import { attempt, emit, pattern } from "./kernel_guest_util.ts";

const OFFSET_SECTORS = 2048n;
const SIZE_KIB = 16384n;
const CHUNK = 65536;

async function build(k: LinuxKernel, level: "raid0" | "raid1", disks: string[]): Promise<MdArray> {
  const a = await k.createArray();
  await configureArray(a, {
    metadataVersion: "external:mdts-probe",
    level,
    raidDisks: disks.length,
    chunkBytes: CHUNK,
    layout: 0,
    componentKiB: SIZE_KIB,
    resyncStart: "none",
  });
  for (const [slot, d] of disks.entries()) {
    await a.addMember(d, { offset: OFFSET_SECTORS, sizeKiB: SIZE_KIB, slot });
  }
  return a;
}

async function snapshot(a: MdArray) {
  return {
    arrayState: await attempt(() => a.arrayState()),
    level: await attempt(() => a.level()),
    raidDisks: await attempt(() => a.raidDisks()),
    componentSize: await attempt(() => a.componentSize()),
    arraySize: await attempt(() => a.arraySize()),
    metadataVersion: await attempt(() => a.metadataVersionText()),
    members: await Promise.all(
      (await a.members()).map(async (m) => ({
        name: m.name,
        slot: await attempt(() => m.slot()),
        state: await attempt(() => m.state()),
        offset: await attempt(() => m.offset()),
      })),
    ),
  };
}

async function raid0(disks: string[]) {
  const k = new LinuxKernel();
  const a = await build(k, "raid0", disks);
  const before = await snapshot(a);
  await a.setArrayState("active");
  const running = await snapshot(a);
  const node = k.devPath(a.devnm);
  const sizeBytes = await k.blocks.size(node);
  const data = pattern(8 * CHUNK, 4242);
  await k.writer.write({ device: node, offset: 0n, data, purpose: "data", what: "raid0 pattern" });
  await k.writer.flush(node);
  const back = await k.blocks.read(node, 0n, data.length);
  // chunk c lives on member c % n at offset + floor(c / n) * chunk
  const layoutOk: boolean[] = [];
  for (let c = 0; c < 8; c++) {
    const member = `/dev/${disks[c % disks.length]}`;
    const at = OFFSET_SECTORS * 512n + BigInt(Math.floor(c / disks.length) * CHUNK);
    const onDisk = await k.blocks.read(member, at, CHUNK);
    layoutOk.push(onDisk.every((b, i) => b === data[c * CHUNK + i]));
  }
  const mdstat = (await k.mdstat()).arrays.find((x) => x.devnm === a.devnm) ?? null;
  const busyStop = await attempt(async () => {
    // holding the node open makes STOP_ARRAY refuse (it opens O_EXCL)
    const f = await Deno.open(node);
    try {
      await k.stopArray(a.devnm, { busyRetryMs: 0 });
      return "stopped while open";
    } finally {
      f.close();
    }
  });
  await k.stopArray(a.devnm);
  const after = await attempt(() => a.arrayState());
  // the device is deleted once the last reference (often udev's) is dropped; on a loaded
  // machine (a CI run: 10 s were not enough) that can take long: wait up to 60 s
  const gone = async () =>
    await attempt(async () => (await Deno.stat(`/sys/block/${a.devnm}`)).isDirectory);
  let sysfsAfter = await gone();
  for (let i = 0; i < 600 && sysfsAfter === true; i++) {
    await new Promise((r) => setTimeout(r, 100));
    sysfsAfter = await gone();
  }
  emit({
    devnm: a.devnm,
    before,
    running,
    sizeBytes,
    roundTrip: back.every((b, i) => b === data[i]),
    layoutOk,
    mdstat,
    busyStop,
    stateAfterStop: after,
    sysfsDirAfterStop: sysfsAfter,
    writes: k.writer.records.length,
  });
}

async function poll(disks: string[], readyFile: string) {
  const k = new LinuxKernel();
  const a = await build(k, "raid1", disks);
  await a.setArrayState("readonly");
  const watcher = await a.watch(["array_state", "sync_action"]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  await Deno.writeTextFile(readyFile, a.devnm);
  const t0 = Date.now();
  const r = await watcher.wait(60_000);
  const ms = Date.now() - t0;
  clearInterval(timer);
  watcher.close();
  await a.stop();
  emit({
    devnm: a.devnm,
    timedOut: r.timedOut,
    changed: r.changed,
    values: Object.fromEntries(r.values),
    ms,
    ticks,
    stateAfterStop: await attempt(() => a.arrayState()),
  });
}

if (import.meta.main) {
  const [cmd, ...args] = Deno.args;
  if (cmd === "raid0") await raid0(args);
  else if (cmd === "poll") await poll(args.slice(0, 2), args[2]);
  else {
    console.error("usage: kernel_bringup.ts raid0 DISK DISK | poll DISK DISK READY_FILE");
    Deno.exit(2);
  }
}
