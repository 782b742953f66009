/**
 * planGrow on containers built with the metadata editor: every OCE case of issue 6, with
 * sizes by mdadm's rule (per-member size stays, the array grows by whole members), unit
 * geometry by init_migr_record_imsm's, and each refusal with nothing else decided.
 */
import assert from "node:assert/strict";
import {
  addSpare,
  addVolume,
  beginMigration,
  type ImsmContainer,
  markDiskFailed,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import type { MdLevel } from "../../../meta/imsm/sizes.ts";
import {
  type GrowFacts,
  type GrowPlan,
  minimumSpareSectors,
  planGrow,
  type RefusalCode,
  type SpareFact,
} from "../../../core/grow/plan.ts";

const DISK = 131072; // 64 MiB
const NAMES = ["vda", "vdb", "vdc", "vdd", "vde", "vdf"];

interface Vol {
  level: MdLevel;
  sizeKiB: number;
  chunkKiB?: number;
}

function build(members: number, spares: number, vols: Vol[], spareSectors = DISK) {
  const disk = (n: string, size = DISK) => ({ serial: `/dev/${n}`, sizeSectors: size });
  let c = newContainer(NAMES.slice(0, members).map((n) => disk(n)));
  vols.forEach((v, i) => {
    c = addVolume(c, {
      name: `vol${i}`,
      level: v.level,
      members: NAMES.slice(0, members).map((n) => `/dev/${n}`),
      chunkKiB: v.chunkKiB ?? 64,
      sizeKiB: v.sizeKiB,
      assumeClean: true,
      familyNum: 0x1234,
      creationTime: 1700000000n,
    });
  });
  const spareFacts: SpareFact[] = [];
  for (let i = 0; i < spares; i++) {
    const name = NAMES[members + i];
    c = addSpare(c, disk(name, spareSectors));
    spareFacts.push({
      serial: `/dev/${name}`,
      path: `/dev/${name}`,
      majMin: `254:${(members + i) * 16}`,
      sizeSectors: spareSectors,
      sectorSize: 512,
    });
  }
  const facts: GrowFacts = {
    container: "md127",
    volumeDevices: vols.map((_, i) => `md${126 - i}`),
    busy: [],
    spares: spareFacts,
    sectorSize: 512,
  };
  return { c, facts };
}

function ok(c: ImsmContainer, facts: GrowFacts, n: number): GrowPlan {
  const d = planGrow(c, facts, { raidDevices: n });
  if (!d.ok) assert.fail(d.refusals.map((r) => r.message).join("\n"));
  return d.plan;
}

const CASES: { name: string; members: number; n: number; vols: Vol[] }[] = [
  { name: "raid5 3->4", members: 3, n: 4, vols: [{ level: 5, sizeKiB: 16384 }] },
  { name: "raid5 3->5", members: 3, n: 5, vols: [{ level: 5, sizeKiB: 16384 }] },
  { name: "raid0 2->3", members: 2, n: 3, vols: [{ level: 0, sizeKiB: 16384, chunkKiB: 128 }] },
  { name: "raid0 2->4", members: 2, n: 4, vols: [{ level: 0, sizeKiB: 16384 }] },
  { name: "raid0 3->4", members: 3, n: 4, vols: [{ level: 0, sizeKiB: 16384 }] },
  {
    name: "raid0+raid5 3->4",
    members: 3,
    n: 4,
    vols: [{ level: 0, sizeKiB: 8192, chunkKiB: 128 }, { level: 5, sizeKiB: 12288 }],
  },
  {
    name: "raid5+raid0 3->5",
    members: 3,
    n: 5,
    vols: [{ level: 5, sizeKiB: 16384 }, { level: 0, sizeKiB: 16384 }],
  },
  {
    name: "raid0+raid0 2->4",
    members: 2,
    n: 4,
    vols: [{ level: 0, sizeKiB: 8192 }, { level: 0, sizeKiB: 8192, chunkKiB: 256 }],
  },
];

for (const t of CASES) {
  Deno.test(`plan: ${t.name}`, () => {
    const { c, facts } = build(t.members, t.n - t.members, t.vols);
    const plan = ok(c, facts, t.n);
    assert.equal(plan.oldRaidDisks, t.members);
    assert.equal(plan.spares.length, t.n - t.members);
    assert.equal(plan.volumes.length, t.vols.length);
    plan.volumes.forEach((v, i) => {
      const spec = t.vols[i];
      const perMember = spec.sizeKiB * 2;
      const oldData = spec.level === 5 ? t.members - 1 : t.members;
      const newData = spec.level === 5 ? t.n - 1 : t.n;
      assert.equal(v.componentSectors, perMember, "per-member size stays");
      assert.equal(v.oldArraySectors, perMember * oldData);
      assert.equal(v.newArraySectors, perMember * newData, "array grows by whole members");
      assert.equal(v.new.members, t.n);
      assert.equal(v.new.chunkKiB, spec.chunkKiB ?? 64);
      // units: 1 MiB copy area rounded to the chunk, times the new data disks
      const strip = (spec.chunkKiB ?? 64) * 2;
      assert.equal(v.units.destDepth, Math.floor(2048 / strip) * strip);
      assert.equal(v.units.blocksPerUnit, v.units.destDepth * newData);
      assert.equal(v.units.numUnits, Math.ceil(perMember * newData / v.units.blocksPerUnit));
      assert.equal(v.copyAreaPba, DISK - 2209);
      assert.ok(v.units.critical.length >= 1 && v.units.critical[0] === 0);
      if (spec.level === 0) {
        assert.deepEqual(v.takeover, { to: "raid4", layout: 5, back: "raid0" });
        assert.deepEqual(
          [v.during.mdLevel, v.during.oldRaidDisks, v.during.newRaidDisks, v.during.layout],
          ["raid4", t.members + 1, t.n + 1, 5],
        );
      } else {
        assert.equal(v.takeover, null);
        assert.deepEqual([v.during.mdLevel, v.during.newRaidDisks, v.during.layout], [
          "raid5",
          t.n,
          0,
        ]);
      }
      assert.deepEqual(
        v.newDisks.map((d) => d.slot),
        Array.from({ length: t.n - t.members }, (_, k) => t.members + k),
      );
    });
    const kinds = plan.steps.map((s) => s.kind);
    assert.equal(kinds[0], "freeze");
    assert.equal(kinds[1], "metadata-update");
    assert.equal(kinds.at(-1), "unfreeze");
    assert.equal(kinds.filter((k) => k === "start-reshape").length, t.vols.length);
    assert.equal(
      kinds.filter((k) => k === "takeover").length,
      t.vols.filter((v) => v.level === 0).length,
    );
    assert.equal(
      kinds.filter((k) => k === "takeover-back").length,
      t.vols.filter((v) => v.level === 0).length,
    );
    assert.equal(kinds.filter((k) => k === "add-disk").length, (t.n - t.members) * t.vols.length);
    // within a volume: takeover before raid_disks, disks before the reshape, size before back
    const order = [
      "set-raid-disks",
      "add-disk",
      "impose-shape",
      "start-reshape",
      "migration-record",
      "windows",
      "wait-idle",
      "array-size",
    ];
    const firstVol = kinds.slice(2, kinds.indexOf("array-size") + 1).filter((k) =>
      k !== "takeover"
    );
    assert.deepEqual([...new Set(firstVol)], order);
  });
}

Deno.test("plan: raid5 3->4 units and windows match the observed OCE (trace 05 vol0)", () => {
  const { c, facts } = build(3, 1, [{ level: 5, sizeKiB: 16384 }]);
  const v = ok(c, facts, 4).volumes[0];
  assert.deepEqual([v.units.blocksPerUnit, v.units.destDepth, v.units.numUnits], [6144, 2048, 16]);
  assert.deepEqual(v.units.critical, [0, 1, 2]);
  assert.equal(v.backupBytes, 3 * 2048 * 512 * 4);
  assert.deepEqual(v.recordDisks, ["/dev/vda", "/dev/vdb"]);
});

function refused(
  c: ImsmContainer,
  facts: GrowFacts,
  n: number,
  code: RefusalCode,
  text: RegExp,
  force = false,
) {
  const d = planGrow(c, facts, { raidDevices: n, force });
  assert.equal(d.ok, false, `expected a refusal ${code}`);
  if (d.ok) return;
  const r = d.refusals.find((x) => x.code === code);
  assert.ok(r, `no ${code} among ${d.refusals.map((x) => x.code).join(",")}`);
  assert.match(r.message, text);
}

Deno.test("plan: refusals as mdadm 4.2 gives them", () => {
  const r5 = () => build(3, 1, [{ level: 5, sizeKiB: 16384 }]);
  let { c, facts } = r5();
  refused(
    c,
    facts,
    5,
    "too-few-spares",
    /^Need 2 spares to avoid degraded array, and only have 1\./,
  );
  refused(c, facts, 5, "too-few-spares", /Cannot get spare devices/, true);
  refused(c, facts, 3, "not-larger", /can only grow/);
  refused(c, facts, 2, "not-larger", /does not grow/);
  ({ c, facts } = build(3, 1, [{ level: 5, sizeKiB: 16384 }], 20000));
  refused(c, facts, 4, "spare-too-small", /vdd has 20000 sectors.*at least/);
  ({ c, facts } = r5());
  refused(markDiskFailed(c, "/dev/vdb"), facts, 4, "degraded", /not in a normal state/);
  refused(c, { ...facts, busy: ["md126"] }, 4, "busy", /md126 is busy/);
  refused(c, { ...facts, volumeDevices: [null] }, 4, "not-assembled", /not assembled/);
  refused(
    c,
    { ...facts, spares: [{ ...facts.spares[0], sectorSize: 4096 }] },
    4,
    "sector-size",
    /4096-byte/,
  );
  const grown = beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  refused(grown, { ...facts, spares: [] }, 5, "migration-running", /already migrating/);
  const r10 = build(4, 1, [{ level: 10, sizeKiB: 8192 }]);
  refused(r10.c, r10.facts, 5, "level", /raid10; only raid0 and raid5/);
  const r1 = build(2, 1, [{ level: 1, sizeKiB: 8192 }]);
  refused(r1.c, r1.facts, 3, "level", /raid1;/);
  const none = build(2, 1, []);
  refused(none.c, none.facts, 3, "no-volume", /no volume/);
});

Deno.test("plan: the smallest acceptable spare is the data end plus mdadm's spare reservation", () => {
  const { c } = build(3, 0, [{ level: 5, sizeKiB: 16384 }]);
  assert.equal(minimumSpareSectors(c), 32768 + 2210 + 2048);
  const { c: c2, facts } = build(3, 1, [{ level: 5, sizeKiB: 16384 }], 32768 + 2210 + 2048);
  assert.ok(planGrow(c2, facts, { raidDevices: 4 }).ok);
});
