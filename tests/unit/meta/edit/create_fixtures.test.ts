/**
 * Containers and volumes built by the editor from the parameters of each fixture's mdadm
 * commands must leave the bytes mdadm 4.2 left. Identity values mdadm draws at random
 * (family number, creation time) and the number of metadata writes mdmon made afterwards
 * (generation) are taken from the fixture: they are the only injected inputs.
 */
import assert from "node:assert/strict";
import { addVolume, type AddVolumeParams } from "../../../../meta/imsm/edit/volume.ts";
import { type ImsmContainer, newContainer } from "../../../../meta/imsm/edit/container.ts";
import { beginResync, endMigration } from "../../../../meta/imsm/edit/migration.ts";
import { markClean } from "../../../../meta/imsm/edit/state.ts";
import { caseMpb, DiskTails, loadCase, type LoadedDisk, newDisks } from "./harness.ts";

type VolumeSpec = Omit<AddVolumeParams, "familyNum" | "creationTime">;

/**
 * mdadm -C container (spare records), then each volume: created; when redundant, mdmon
 * writes the start of its initialisation, then the end (clean).
 */
export function buildCase(
  disks: LoadedDisk[],
  volumes: VolumeSpec[],
): { c: ImsmContainer; tails: DiskTails } {
  const ref = caseMpb(disks);
  const tails = new DiskTails(disks);
  let c = tails.write(newContainer(newDisks(disks)));
  volumes.forEach((v, i) => {
    c = tails.write(
      addVolume(c, { ...v, familyNum: ref.familyNum, creationTime: ref.creationTime }),
    );
    if (v.level !== 0) {
      c = tails.write(beginResync(c, i));
      c = markClean(endMigration(c, i), i);
    }
  });
  return { c, tails };
}

/** The last write, numbered as the fixture's generation says mdmon's writes went. */
function finish(c: ImsmContainer, tails: DiskTails, disks: LoadedDisk[], label: string) {
  c.mpb.generationNum = caseMpb(disks).generationNum - 1;
  tails.write(c);
  tails.assertMatches(label);
}

Deno.test("a: raid0 on 2 disks, default chunk, no resync: byte-exact at generation 2", () => {
  const disks = loadCase("a_raid0_2disk");
  const { c, tails } = buildCase(disks, [
    { name: "vol0", level: 0, members: ["/dev/vdb", "/dev/vda"], sizeKiB: 16384 },
  ]);
  // spare records (generation 1), then one write: nothing injected
  assert.equal(c.mpb.generationNum, caseMpb(disks).generationNum);
  tails.assertMatches("a");
});

Deno.test("b: raid5 on 3 disks, 64 KiB chunk, resync done: byte-exact", () => {
  const disks = loadCase("b_raid5_3disk");
  const { c, tails } = buildCase(disks, [{
    name: "vol0",
    level: 5,
    members: ["/dev/vda", "/dev/vdb", "/dev/vdc"],
    chunkKiB: 64,
    sizeKiB: 16384,
  }]);
  finish(c, tails, disks, "b");
});

Deno.test("c: raid0 + raid5 volumes, the second after the 8192-sector gap: byte-exact", () => {
  const disks = loadCase("c_raid0_raid5_3disk");
  const members = ["/dev/vda", "/dev/vdb", "/dev/vdc"];
  const { c, tails } = buildCase(disks, [
    { name: "vol0", level: 0, members, chunkKiB: 128, sizeKiB: 8192 },
    { name: "vol1", level: 5, members, chunkKiB: 64, sizeKiB: 12288 },
  ]);
  finish(c, tails, disks, "c");
});

Deno.test("d: raid10 on 4 disks stored as level 1, slot order vda vdd vdb vdc: byte-exact", () => {
  const disks = loadCase("d_raid10_4disk");
  const { c, tails } = buildCase(disks, [{
    name: "vol0",
    level: 10,
    members: ["/dev/vda", "/dev/vdd", "/dev/vdb", "/dev/vdc"],
    chunkKiB: 64,
    sizeKiB: 16384,
  }]);
  finish(c, tails, disks, "d");
});

Deno.test("e: raid1 on 2 disks, strip forced to 64 KiB, stale extension sector: byte-exact", () => {
  const disks = loadCase("e_raid1_2disk");
  const { c, tails } = buildCase(disks, [
    { name: "vol0", level: 1, members: ["/dev/vdb", "/dev/vda"], sizeKiB: 16384 },
  ]);
  finish(c, tails, disks, "e");
});
