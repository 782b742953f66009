/** --detail text against mdadm 4.2's own output in the fixtures (c: raid0 + raid5, d: raid10). */
import assert from "node:assert/strict";
import { renderDetail, renderDetailBrief } from "../../../cli/render/detail_text.ts";
import type { ContainerDetail, VolumeDetail } from "../../../core/lifecycle/detail.ts";

const FIX = new URL("../../fixtures/imsm/", import.meta.url);
const read = (p: string) => Deno.readTextFileSync(new URL(p, FIX));
const member = (name: string, minor: number, slot: number | null, descriptor: number | null) => ({
  name,
  major: 254,
  minor,
  descriptor,
  slot,
  state: slot === null ? [] : ["in_sync"],
});

Deno.test("container detail equals fixture c's mdadm -D", () => {
  const d: ContainerDetail = {
    kind: "container",
    devnm: "md126",
    path: "/dev/md/imsm0",
    mapPath: "/dev/md/imsm0",
    uuid: "a540cae7:681d6ab2:9359d060:9aff3672",
    memberArrays: ["/dev/md/vol1", "/dev/md/vol0"],
    members: [member("vdc", 32, null, 2), member("vda", 0, null, 0), member("vdb", 16, null, 1)],
  };
  assert.equal(renderDetail(d), read("c_raid0_raid5_3disk/detail.imsm0.txt"));
  assert.equal(
    renderDetailBrief(d),
    "ARRAY /dev/md/imsm0 metadata=imsm UUID=a540cae7:681d6ab2:9359d060:9aff3672\n",
  );
});

function volume(over: Partial<VolumeDetail>): VolumeDetail {
  return {
    kind: "volume",
    devnm: "md127",
    path: "/dev/md/vol1",
    mapPath: "/dev/md/vol1",
    containerPath: "/dev/md/imsm0",
    containerDevnm: "md126",
    member: "1",
    level: "raid5",
    arrayKiB: 24576n,
    componentKiB: 12288n,
    raidDisks: 3,
    chunkBytes: 65536,
    layout: 0,
    arrayState: "clean",
    syncAction: "idle",
    degraded: 0,
    mdstat: null,
    uuid: "6969455f:e33ee83c:0dd64ff6:c055f567",
    members: [member("vda", 0, 0, 0), member("vdb", 16, 1, 1), member("vdc", 32, 2, 2)],
    ...over,
  };
}

Deno.test("raid5 and raid0 volume details equal fixture c's mdadm -D", () => {
  assert.equal(renderDetail(volume({})), read("c_raid0_raid5_3disk/detail.vol1.txt"));
  const r0 = volume({
    path: "/dev/md/vol0",
    member: "0",
    level: "raid0",
    componentKiB: 8192n,
    chunkBytes: 131072,
    syncAction: null,
    uuid: "58bd4291:18c127df:7624a86d:d7bd4d61",
  });
  assert.equal(renderDetail(r0), read("c_raid0_raid5_3disk/detail.vol0.txt"));
});

Deno.test("raid10 and raid1 volume details equal fixtures d and e", () => {
  const r10 = volume({
    path: "/dev/md/vol0",
    member: "0",
    level: "raid10",
    arrayKiB: 32768n,
    componentKiB: 16384n,
    raidDisks: 4,
    layout: 0x102,
    uuid: "3a279c84:a327570a:c5bd925e:44e0e64f",
    members: [
      member("vda", 0, 0, 0),
      member("vdd", 48, 1, 1),
      member("vdb", 16, 2, 2),
      member("vdc", 32, 3, 3),
    ],
  });
  assert.equal(renderDetail(r10), read("d_raid10_4disk/detail.vol0.txt"));
  const r1 = volume({
    path: "/dev/md/vol0",
    member: "0",
    level: "raid1",
    arrayKiB: 16384n,
    componentKiB: 16384n,
    raidDisks: 2,
    uuid: "be4fe39a:1adde151:f3ba8664:d5b97d6c",
    members: [member("vdb", 16, 0, 0), member("vda", 0, 1, 1)],
  });
  assert.equal(renderDetail(r1), read("e_raid1_2disk/detail.vol0.txt"));
});
