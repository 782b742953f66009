/** Pure pieces of the lifecycle checked against real mdadm 4.2 output and traces. */
import assert from "node:assert/strict";
import {
  kernfsNameHash,
  parseRequestedName,
  sysfsMemberOrder,
  uniqueLinkName,
} from "../../../core/lifecycle/names.ts";
import { parseMap, renderMap, withEntry, withoutEntry } from "../../../core/mapfile.ts";
import { parseConfigArrays, sameUuid } from "../../../core/lifecycle/config.ts";

const FIX = new URL("../../fixtures/imsm/", import.meta.url);

function containerDetailOrder(dir: string): string[] {
  const text = Deno.readTextFileSync(new URL(`${dir}/detail.imsm0.txt`, FIX));
  return [...text.matchAll(/\/dev\/(vd[a-z])$/gm)].map((m) => m[1]);
}

Deno.test("sysfs order of components matches mdadm -D of every fixture container", () => {
  for (
    const dir of [
      "a_raid0_2disk",
      "c_raid0_raid5_3disk",
      "d_raid10_4disk",
      "f0_raid5_3disk_plus_spare",
    ]
  ) {
    const listed = containerDetailOrder(dir);
    assert.deepEqual(sysfsMemberOrder([...listed].sort()), listed, dir);
  }
});

Deno.test("requested names: links, fixed devnms, suffixes", () => {
  assert.deepEqual(parseRequestedName("/dev/md/vol0"), {
    devnm: null,
    link: "vol0",
    display: "/dev/md/vol0",
  });
  assert.deepEqual(parseRequestedName("/dev/md5"), {
    devnm: "md5",
    link: null,
    display: "/dev/md5",
  });
  assert.deepEqual(parseRequestedName("/dev/md/7"), {
    devnm: "md7",
    link: "7",
    display: "/dev/md/7",
  });
  assert.equal(uniqueLinkName("vol0", new Set(["vol0"])), "vol0_0");
  assert.equal(uniqueLinkName("vol0", new Set(["vol0", "vol0_0"])), "vol0_1");
  assert.equal(uniqueLinkName("vol0", new Set()), "vol0");
});

Deno.test("map file: the lines of trace 02 parse and render back; new arrays go first", () => {
  const text = "md126 /md127/0 c6ff71f9:59d3c4a5:e1ffe472:668111c9 /dev/md/vol0\n" +
    "md127 imsm 1eda7fbc:2e58d87c:3e28c64b:5273088a /dev/md/imsm0\n";
  const entries = parseMap(text);
  assert.equal(entries.length, 2);
  assert.equal(entries[1].metadata, "imsm");
  assert.equal(renderMap(entries), text);
  const added = withEntry(entries, {
    devnm: "md125",
    metadata: "/md127/1",
    uuid: "x",
    path: "/dev/md/vol1",
  });
  assert.equal(added[0].devnm, "md125");
  assert.equal(renderMap(withoutEntry(added, "md125")), text);
});

Deno.test("config: the ARRAY lines mdadm -Ebsc prints name the container and its volumes", () => {
  const text = Deno.readTextFileSync(new URL("c_raid0_raid5_3disk/examine-brief-scan.txt", FIX));
  const arrays = parseConfigArrays(text + "DEVICE partitions\n# comment\n");
  assert.equal(arrays.length, 3);
  assert.equal(arrays[0].metadata, "imsm");
  assert.equal(arrays[1].device, "/dev/md/vol0");
  assert.equal(arrays[1].member, "0");
  assert.ok(sameUuid(arrays[1].container!, arrays[0].uuid!));
  assert.ok(sameUuid("a540cae7:681d6ab2:9359d060:9aff3672", "A540CAE7-681D6AB2-9359D060-9AFF3672"));
});

Deno.test("member arrays follow /sys/block's order (fixture c lists md127 before md125)", () => {
  const sorted = ["md125", "md127"].sort((a, b) => Number(kernfsNameHash(a) - kernfsNameHash(b)));
  assert.deepEqual(sorted, ["md127", "md125"]);
});
