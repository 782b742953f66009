/** Changes mdadm 4.2 (or the IMSM format) refuses come back as typed ImsmEditErrors. */
import assert from "node:assert/strict";
import { ImsmEditError, type ImsmEditErrorCode } from "../../../../meta/imsm/edit/errors.ts";
import {
  addSpare,
  containerFromDisks,
  type ImsmContainer,
  newContainer,
  removeSpare,
} from "../../../../meta/imsm/edit/container.ts";
import { addVolume, type AddVolumeParams } from "../../../../meta/imsm/edit/volume.ts";
import {
  advanceCheckpoint,
  beginMigration,
  endMigration,
  initMigrationRecord,
} from "../../../../meta/imsm/edit/migration.ts";
import { markDiskFailed, markRebuilding } from "../../../../meta/imsm/edit/failure.ts";
import { loadCase } from "./harness.ts";

const DISK = 131072;

function refused(code: ImsmEditErrorCode, f: () => unknown): ImsmEditError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ImsmEditError, `expected ImsmEditError ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 0 && caught.hint.length > 0);
  return caught;
}

function fresh(n: number, size = DISK): ImsmContainer {
  return newContainer(
    Array.from({ length: n }, (_, i) => ({ serial: `D${i}`, sizeSectors: size })),
  );
}

function vol(members: string[], more: Partial<AddVolumeParams> = {}): AddVolumeParams {
  return {
    name: "v",
    level: 0,
    members,
    sizeKiB: 8192,
    familyNum: 7,
    creationTime: 7n,
    ...more,
  };
}

Deno.test("level / member count combinations IMSM does not have", () => {
  const c = fresh(5);
  refused("bad-geometry", () => addVolume(c, vol(["D0", "D1", "D2"], { level: 1 })));
  refused("bad-geometry", () => addVolume(c, vol(["D0", "D1"], { level: 5 })));
  refused("bad-geometry", () => addVolume(c, vol(["D0", "D1", "D2"], { level: 10 })));
  refused("bad-geometry", () => addVolume(c, vol(["D0", "D1", "D2", "D3", "D4"], { level: 10 })));
  refused("bad-geometry", () => addVolume(c, vol([], { level: 0 })));
  refused("disk-in-use", () => addVolume(c, vol(["D0", "D0"])));
});

Deno.test("chunk must be a power of two from 2 KiB to 16 MiB", () => {
  const c = fresh(3);
  for (const chunkKiB of [0, 1, 3, 96, 32768]) {
    const e = refused("bad-chunk", () => addVolume(c, vol(["D0", "D1"], { chunkKiB })));
    assert.equal(e.value, chunkKiB);
  }
  addVolume(c, vol(["D0", "D1"], { chunkKiB: 2 }));
});

Deno.test("a third volume is refused", () => {
  let c = addVolume(fresh(2), vol(["D0", "D1"], { name: "a" }));
  c = addVolume(c, vol(["D0", "D1"], { name: "b" }));
  refused("too-many-volumes", () => addVolume(c, vol(["D0", "D1"], { name: "c" })));
});

Deno.test("size beyond the free region, smaller than a chunk, or rounding to nothing", () => {
  const c = fresh(2);
  // 120670 sectors are free per member: 60335 KiB
  refused("no-space", () => addVolume(c, vol(["D0", "D1"], { sizeKiB: 60416 })));
  addVolume(c, vol(["D0", "D1"], { sizeKiB: 60288 }));
  refused("bad-size", () => addVolume(c, vol(["D0", "D1"], { sizeKiB: 64, chunkKiB: 128 })));
  refused("bad-size", () => addVolume(c, vol(["D0", "D1"], { sizeKiB: 512, chunkKiB: 128 })));
  const full = addVolume(c, vol(["D0", "D1"], { sizeKiB: undefined, name: "all" }));
  refused("no-space", () => addVolume(full, vol(["D0", "D1"], { name: "more", sizeKiB: 1024 })));
});

Deno.test("disks too small for the metadata reservation", () => {
  const c = fresh(2, 10402);
  const e = refused("disk-too-small", () => addVolume(c, vol(["D0", "D1"])));
  assert.equal(e.value, 10402);
});

Deno.test("names: empty, longer than 16, or already used", () => {
  const c = fresh(2);
  refused("bad-name", () => addVolume(c, vol(["D0", "D1"], { name: "  " })));
  refused("bad-name", () => addVolume(c, vol(["D0", "D1"], { name: "x".repeat(17) })));
  const one = addVolume(c, vol(["D0", "D1"], { name: "same" }));
  refused("bad-name", () => addVolume(one, vol(["D0", "D1"], { name: " same " })));
});

Deno.test("unknown disks, duplicate spares, mixed sector sizes, removing a member", () => {
  const c = fresh(2);
  refused("unknown-disk", () => addVolume(c, vol(["D0", "nope"])));
  refused("disk-in-use", () => addSpare(c, { serial: "D1", sizeSectors: DISK }));
  refused(
    "sector-size-mismatch",
    () => addSpare(c, { serial: "K", sizeSectors: DISK, sectorSize: 4096 }),
  );
  const v = addVolume(c, vol(["D0", "D1"]));
  refused("disk-in-use", () => removeSpare(v, "D0"));
  refused("unknown-disk", () => removeSpare(v, "D9"));
  refused("unknown-disk", () => markDiskFailed(v, "D9"));
  refused("bad-state", () => addVolume(fresh(2), vol(["D0", "D1"], { familyNum: undefined })));
});

Deno.test("migrations: one at a time, OCE only for raid0/raid5, ends only when running", () => {
  const b = containerFromDisks(loadCase("b_raid5_3disk").map((d) => d.parsed));
  const withSpare = addSpare(b, { serial: "/dev/vdd", sizeSectors: DISK });
  const growing = beginMigration(withSpare, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  refused("bad-state", () => beginMigration(growing, 0, { kind: "chunk", newChunkKiB: 128 }));
  refused(
    "unknown-disk",
    () => beginMigration(b, 0, { kind: "grow-disks", newDisks: ["/dev/vdx"] }),
  );
  refused("bad-state", () => endMigration(b, 0));
  refused("bad-state", () => initMigrationRecord(b));
  const rec = initMigrationRecord(growing);
  refused("bad-state", () => advanceCheckpoint(growing, rec, 17));
  refused("bad-chunk", () => beginMigration(b, 0, { kind: "chunk", newChunkKiB: 48 }));

  const e = containerFromDisks(loadCase("e_raid1_2disk").map((d) => d.parsed));
  const eSpare = addSpare(e, { serial: "/dev/vdc", sizeSectors: DISK });
  refused(
    "unsupported",
    () => beginMigration(eSpare, 0, { kind: "grow-disks", newDisks: ["/dev/vdc"] }),
  );
  refused(
    "unsupported",
    () => beginMigration(eSpare, 0, { kind: "level", newLevel: 5, newDisk: "/dev/vdc" }),
  );
});

Deno.test("a rebuild needs a failed slot and a spare", () => {
  const b = containerFromDisks(loadCase("b_raid5_3disk").map((d) => d.parsed));
  const withSpare = addSpare(b, { serial: "/dev/vdd", sizeSectors: DISK });
  refused("disk-in-use", () => markRebuilding(withSpare, 0, 1, "/dev/vdd", 1));
  const failed = markDiskFailed(withSpare, "/dev/vdb");
  refused("unknown-disk", () => markRebuilding(failed, 0, 1, "/dev/vdx", 1));
  refused("bad-state", () => markRebuilding(failed, 0, 5, "/dev/vdd", 1));
});
