/**
 * Guest-side probe (runs as root inside the VM): block devices by FFI and md arrays as mdts reads
 * them, printed as JSON for the host test to compare with mdadm / sysfs.
 *
 *   kernel_probe.ts blocks /dev/vda /dev/vdb   sizes, sector sizes, O_DIRECT round trip
 *   kernel_probe.ts md-read                    every md array: mdstat + typed sysfs + ioctls
 */
import { withFd } from "../../../kernel/block.ts";
import { physicalSectorSizeOfFd } from "../../../kernel/block.ts";
import { readBlockDevice } from "../../../kernel/devices.ts";
import { O_RDONLY } from "../../../kernel/libc.ts";
import { getArrayInfo, raidVersion } from "../../../kernel/md/ioctl.ts";
import { LinuxKernel } from "../../../kernel/real.ts";
import { attempt, emit, pattern } from "./kernel_guest_util.ts";

async function blocks(devices: string[]) {
  const k = new LinuxKernel();
  const out = [];
  for (const dev of devices) {
    const name = dev.replace(/^\/dev\//, "");
    const size = await k.blocks.size(dev);
    const lss = await k.blocks.logicalSectorSize(dev);
    const pss = withFd(dev, O_RDONLY, (fd) => physicalSectorSizeOfFd(fd, dev));
    const info = await readBlockDevice(name);
    // O_DIRECT round trip near the end of the disk, through the write seam
    const offset = size - 1024n * 1024n;
    const data = pattern(65536, Number(size % 100000n) + 7);
    await k.writer.write({ device: dev, offset, data, purpose: "data", what: "probe pattern" });
    await k.writer.flush(dev);
    const back = await k.blocks.read(dev, offset, data.length);
    // and what a buffered reader sees after the direct write
    const f = await Deno.open(dev);
    await f.seek(Number(offset), Deno.SeekMode.Start);
    const plain = new Uint8Array(data.length);
    let got = 0;
    while (got < plain.length) {
      const n = await f.read(plain.subarray(got));
      if (n === null) break;
      got += n;
    }
    f.close();
    out.push({
      device: dev,
      sizeBytes: size,
      logicalSectorSize: lss,
      physicalSectorSize: pss,
      sysfs: info && {
        sizeBytes: info.sizeBytes,
        logicalSectorSize: info.logicalSectorSize,
        physicalSectorSize: info.physicalSectorSize,
        majMin: `${info.major}:${info.minor}`,
        hardwareSerial: info.hardwareSerial,
      },
      roundTrip: back.every((b, i) => b === data[i]),
      bufferedSeesIt: plain.every((b, i) => b === data[i]),
      seamRecords: k.writer.records.length,
      unalignedRead: await attempt(() => k.blocks.read(dev, 1n, 512)),
    });
  }
  emit({ blocks: out });
}

async function mdRead() {
  const k = new LinuxKernel();
  const mdstat = await k.mdstat();
  const arrays = [];
  for (const devnm of await k.md.arrays()) {
    const a = k.array(devnm);
    const members = [];
    for (const m of await a.members()) {
      members.push({
        name: m.name,
        slot: await attempt(() => m.slot()),
        offset: await attempt(() => m.offset()),
        size: await attempt(() => m.size()),
        state: await attempt(() => m.state()),
        recoveryStart: await attempt(() => m.recoveryStart()),
        blockDev: await attempt(() => m.blockDev()),
      });
    }
    arrays.push({
      devnm,
      arrayState: await attempt(() => a.arrayState()),
      level: await attempt(() => a.level()),
      raidDisks: await attempt(() => a.raidDisks()),
      chunkSize: await attempt(() => a.chunkSize()),
      layout: await attempt(() => a.layout()),
      componentSize: await attempt(() => a.componentSize()),
      arraySize: await attempt(() => a.arraySize()),
      metadataVersion: await attempt(() => a.metadataVersion()),
      syncAction: await attempt(() => a.syncAction()),
      syncCompleted: await attempt(() => a.syncCompleted()),
      degraded: await attempt(() => a.degraded()),
      resyncStart: await attempt(() => a.resyncStart()),
      reshapePosition: await attempt(() => a.reshapePosition()),
      safeModeDelay: await attempt(() => a.safeModeDelay()),
      members,
      sizeBytes: await attempt(() => k.blocks.size(`/dev/${devnm}`)),
      arrayInfo: await attempt(() => getArrayInfo(`/dev/${devnm}`)),
      raidVersion: await attempt(() => raidVersion(`/dev/${devnm}`)),
    });
  }
  emit({ mdstat, arrays });
}

if (import.meta.main) {
  const [cmd, ...args] = Deno.args;
  if (cmd === "blocks") await blocks(args);
  else if (cmd === "md-read") await mdRead();
  else {
    console.error("usage: kernel_probe.ts blocks DEV... | md-read");
    Deno.exit(2);
  }
}
