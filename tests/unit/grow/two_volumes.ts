/**
 * A raid0 + raid5 container (three members, 8 MiB of each per volume) and a spare, its OCE to
 * four disks begun: volume 0 in general migration. For tests around the second volume's start.
 */
import {
  addSpare,
  addVolume,
  beginMigration,
  type ImsmContainer,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";

export function raid0Raid5Growing(names: string[], diskSectors: number): ImsmContainer {
  const disk = (n: string) => ({ serial: `/dev/${n}`, sizeSectors: diskSectors });
  let c = newContainer(names.slice(0, 3).map(disk));
  for (const [i, level] of [0, 5].entries()) {
    c = addVolume(c, {
      name: `vol${i}`,
      level: level as 0 | 5,
      members: names.slice(0, 3).map((n) => `/dev/${n}`),
      chunkKiB: 128,
      sizeKiB: 8192 * (level === 5 ? 2 : 3),
      assumeClean: true,
      familyNum: 0x1234,
      creationTime: 1700000000n,
    });
  }
  c = addSpare(c, disk(names[3]));
  return beginMigration(c, 0, { kind: "grow-disks", newDisks: [`/dev/${names[3]}`] });
}
