/**
 * Guest side of the metadata oracle test: writes, with mdts's own code only (meta/ edits,
 * core/ store, kernel/ FFI writer), a new IMSM container on the given disks and one volume in
 * it, as `mdadm -C -e imsm` followed by `mdadm -C -l LEVEL` would. The host test then asks the
 * real mdadm to examine and assemble the result.
 *
 *   deno run -A imsm_write_new.ts LEVEL CHUNK_KIB SIZE_KIB NAME DEV...
 */
import { LinuxKernel } from "../../../kernel/real.ts";
import { serialForImsm } from "../../../kernel/devices.ts";
import { newContainer } from "../../../meta/imsm/edit/container.ts";
import { addVolume } from "../../../meta/imsm/edit/volume.ts";
import { prepareWrite } from "../../../meta/imsm/edit/write.ts";
import { type MemberDisk, storeContainer } from "../../../core/imsm/store.ts";

const [levelText, chunkText, sizeText, name, ...devices] = Deno.args;
const level = Number(levelText) as 0 | 1 | 5 | 10;
const kernel = new LinuxKernel();

const members: MemberDisk[] = [];
for (const dev of devices) {
  const info = await kernel.device(dev.replace(/^\/dev\//, ""));
  if (!info) throw new Error(`${dev}: not a block device known to the kernel`);
  const serial = serialForImsm(info)?.serial;
  if (!serial) throw new Error(`${dev}: no serial (set IMSM_DEVNAME_AS_SERIAL=1)`);
  members.push({ serial, device: dev, size: info.sizeBytes, sectorSize: info.logicalSectorSize });
}

// mdadm -C -e imsm: every disk gets a spare record.
const fresh = prepareWrite(
  newContainer(members.map((m) => ({ serial: m.serial, sizeSectors: Number(m.size / 512n) }))),
);
await storeContainer(kernel.writer, members, fresh);

// mdadm -C -l LEVEL: the first volume; family number and time are the inputs mdadm draws.
const familyNum = crypto.getRandomValues(new Uint32Array(1))[0];
const withVolume = addVolume(fresh.container, {
  name,
  level,
  members: members.map((m) => m.serial),
  chunkKiB: Number(chunkText),
  sizeKiB: Number(sizeText),
  familyNum,
  creationTime: BigInt(Math.floor(Date.now() / 1000)),
});
const written = prepareWrite(withVolume);
await storeContainer(kernel.writer, members, written);
console.log(
  JSON.stringify({
    familyNum,
    generation: written.container.mpb.generationNum,
    writes: written.writes.length,
  }),
);
