/**
 * The crash matrix without a VM: results of partial runs add up per round (crash_results.json
 * -> crash_results.md), the matrix covers the issue's cut points for each shape, the hold
 * points become the MDTS_FAULT rules the write seam understands, and the last reshape write
 * is read back from a write log the real WriteSeam wrote.
 */
import assert from "node:assert/strict";
import {
  type LaneResult,
  mergeRounds,
  parseStore,
  renderResults,
  type StoredRound,
  summaryTable,
} from "../../vm/crash_results.ts";
import {
  cutPhase,
  CUTTERS,
  faultPoint,
  HOLDS,
  lastReshapeWrite,
  matrix,
  T11,
  unitsOf,
} from "../../vm/crash_driver.ts";
import { parseFaultRule, WriteSeam } from "../../../kernel/writes.ts";
import { FakeDisks } from "../../../kernel/fake/fake_disks.ts";

function lane(over: Partial<LaneResult>): LaneResult {
  return {
    round: "t01",
    lane: "5a",
    shape: "r5",
    grow: "mdts",
    resume: "mdts",
    rule: "pos:10@5a",
    atCut: "Migrate State : general migration;",
    resumed: true,
    bytesDiffering: 0,
    note: "",
    phase: "during",
    assembleExit: 0,
    ...over,
  };
}

function round(number: number, rows: LaneResult[], commit = "abc1234"): StoredRound {
  return {
    number,
    name: `t${number}`,
    rule: "pos:10@5a",
    date: "2026-11-24T12:50:00.000Z",
    commit,
    rows,
  };
}

Deno.test("crash results: a run of some rounds replaces only their rows, in matrix order", () => {
  const stored = mergeRounds(parseStore(null), [
    round(3, [lane({ round: "t3" })]),
    round(1, [lane({ round: "t1" })]),
  ]);
  assert.deepEqual(stored.rounds.map((r) => r.number), [1, 3]);
  const again = mergeRounds(parseStore(JSON.stringify(stored)), [
    round(3, [lane({ round: "t3", lane: "0a", shape: "r0" })], "def5678"),
    round(2, [lane({ round: "t2" })]),
  ]);
  assert.deepEqual(again.rounds.map((r) => [r.number, r.commit]), [
    [1, "abc1234"],
    [2, "abc1234"],
    [3, "def5678"],
  ]);
  assert.deepEqual(again.rounds[2].rows.map((r) => r.lane), ["0a"]);
  assert.throws(() => parseStore(`{"rounds": 3}`), /"rounds" is number, expected a list/);
});

Deno.test("crash results: summary per tool and shape counts cut points inside the grow, resumed, bytes lost", () => {
  const rows = [
    lane({ lane: "5a" }),
    lane({ lane: "5b", held: true, rule: "ckpt:4 (held)", lastWrite: "migration-record #4" }),
    lane({ lane: "0a", shape: "r0", resumed: false, bytesDiffering: null }),
    lane({ lane: "0b", shape: "r0", phase: "after" }),
    lane({ lane: "0c", shape: "r0", phase: "finishing" }),
    lane({ lane: "0d", shape: "r0", phase: "prepared" }),
    lane({ lane: "0e", shape: "r0", phase: "before" }),
    lane({ lane: "k", refusedClean: true, resumed: false, bytesDiffering: null }),
    lane({ lane: "m5a", grow: "mdadm", resume: "mdadm", bytesDiffering: 4096 }),
  ];
  assert.equal(
    summaryTable(rows),
    [
      "| grown by -> resumed by | shape | cut points (inside the grow) | also cut before/after | " +
      "resumed and finished | bytes differing (sum) | lanes with any byte lost or unfinished |",
      "|---|---|---|---|---|---|---|",
      "| mdts -> mdts | r5 | 2 | 0 | 2/2 | 0 | 0 |",
      "| mdts -> mdts | r0 | 3 | 2 | 2/3 | 0 | 1 |",
      "| mdts -> mdts | **all** | **5** | 2 | 4/5 | 0 | 1 |",
      "| mdadm -> mdadm | r5 | 1 | 0 | 1/1 | 4096 | 1 |",
      "| mdadm -> mdadm | **all** | **1** | 0 | 1/1 | 4096 | 1 |",
      "",
    ].join("\n"),
  );
  const md = renderResults(
    {
      rounds: [round(1, rows), {
        ...round(4, []),
        failed: "guest command failed | oops",
      }],
    },
    15,
  );
  assert.match(
    md,
    /Rounds run: 2 of 15 \(not run yet: 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\)/,
  );
  assert.match(md, /\| 1 \| t1 \| pos:10@5a \| 2026-11-24 12:50 \| abc1234 \| 9 \| ran \|/);
  assert.match(md, /\| 4 \| t4 .* \| 0 \| failed: guest command failed \/ oops \|/);
  assert.match(
    md,
    /\| t01 \| 5b \| r5 \| mdts \| mdts \| ckpt:4 \(held there\) \| during \| migration-record #4 \|/,
  );
  assert.match(md, /\| t01 \| k \| .* \| refused: true \| - \|/);
});

Deno.test("crash matrix: where a cut fell, from the metadata at the cut and whether the grow had ended", () => {
  const migrating = "Members : 4 <-- 3;Migrate State : general migration;Checkpoint : 2 (6144);";
  const idleOld = "Members : 3;Migrate State : idle;Map State : normal;";
  const idleNew = "Members : 4;Migrate State : idle;Map State : normal;";
  assert.equal(cutPhase(migrating, false, false, true), "during");
  assert.equal(cutPhase(idleOld, true, false, false), "before");
  // mdts's first backup and record are on disk, the metadata does not migrate yet
  assert.equal(cutPhase(idleOld, true, false, true), "prepared");
  // size change, takeover back: the migration ended, the grow had not
  assert.equal(cutPhase(idleNew, false, false, true), "finishing");
  assert.equal(cutPhase(idleNew, false, true, true), "after");
  // a grow that ended (refused, or failed) before the cut is not inside it either
  assert.equal(cutPhase(idleOld, true, true, false), "after");
});

Deno.test("crash matrix: 22 distinct mdts cut points per shape with the issue's events, 10 mdadm lanes per shape, interop both ways", () => {
  const rounds = matrix();
  assert.equal(rounds.length, 20);
  const points: Record<string, string[]> = {};
  for (const r of rounds) {
    const unheld = r.lanes.filter((l) => l.holdAt === undefined);
    if (r.lanes[0].grow === "mdts") {
      // one lane cuts, by the round's rule; the others are held at their points
      assert.equal(unheld.length, 1, r.name);
      assert.equal(r.rule.lane, unheld[0].id, r.name);
    }
    for (const l of r.lanes) {
      (points[`${l.grow}->${l.resume} ${l.shape}`] ??= []).push(l.holdAt ?? r.rule.kind);
    }
  }
  for (const shape of ["r5", "r0", "r05"] as const) {
    const p = points[`mdts->mdts ${shape}`];
    assert.equal(p.length, 22, shape);
    assert.equal(new Set(p).size, 22, `${shape}: ${p}`);
    const t11 = T11.lanes.filter((l) => l.shape === shape).map((l) => l.holdAt ?? T11.rule.kind);
    assert.deepEqual(
      [
        ...HOLDS[shape],
        ...CUTTERS.filter((c) => c.shape === shape).map((c) => c.rule),
        ...t11,
      ].sort(),
      [...p].sort(),
    );
    const kinds = new Set(p.map((x) => x.split(":")[0]));
    // right after a checkpoint write, a torn copy area, mid-window, the end of the reshape
    for (const k of ["ckpt", "copy", "pos", "end"]) assert.ok(kinds.has(k), `${shape}: ${k}`);
    // the final size change, and the backward takeover where there is one (raid0)
    if (shape !== "r05") assert.ok(kinds.has("size"), `${shape}: size`);
    if (shape !== "r5") assert.ok(kinds.has("takeover-back"), `${shape}: takeover-back`);
    // spread over the whole grow: holds at units in every quarter of each volume
    const vols = shape === "r05" ? [0, 1] : [0];
    for (const v of vols) {
      const n = unitsOf(shape, v);
      const units = p.filter((x) => x.startsWith(`unit:${v}:`)).map((x) => Number(x.split(":")[2]));
      const early = p.some((x) => /^(ckpt|copy):/.test(x)) || units.some((u) => u < n / 4);
      assert.ok(early, `${shape} volume ${v}: early`);
      for (let q = 1; q < 4; q++) {
        assert.ok(
          units.some((u) => u >= (q * n) / 4 && u < ((q + 1) * n) / 4) ||
            (q === 3 && p.includes(`end:${v}`)),
          `${shape} volume ${v}: nothing in quarter ${q + 1} (${units})`,
        );
      }
    }
    assert.equal(points[`mdadm->mdadm ${shape}`].length, 10, shape);
    // rounds x1-x2: each tool resumes the other's grow of every shape; rounds i1-i2 add mdts
    // grows held around each volume's start and one more mdadm raid0 + raid5 grow
    const extra = { r5: [2, 0], r0: [3, 0], r05: [2, 1] }[shape];
    assert.equal(points[`mdts->mdadm ${shape}`].length, 2 + extra[0], shape);
    assert.equal(points[`mdadm->mdts ${shape}`].length, 2 + extra[1], shape);
  }
});

Deno.test("crash matrix: hold points are MDTS_FAULT rules the seam parses; the last write is read back from its log", async () => {
  assert.equal(faultPoint("ckpt:4", { id: "5a", shape: "r5" }), "purpose=migration-record,after=3");
  assert.equal(faultPoint("copy:2", { id: "5a", shape: "r5" }), "purpose=copy-area,after=1");
  assert.equal(
    faultPoint("unit:1:3", { id: "05b", shape: "r05" }),
    "purpose=migration-record,volume=05bv1,unit=3,after=1",
  );
  assert.equal(
    faultPoint("end:0", { id: "0a", shape: "r0" }),
    "purpose=migration-record,volume=0av0,unit=16,after=1",
  );
  assert.throws(() => faultPoint("pos:10", { id: "5a", shape: "r5" }), /not a write event/);
  for (const shape of ["r5", "r0", "r05"] as const) {
    for (const h of HOLDS[shape]) {
      parseFaultRule(`${faultPoint(h, { id: "x", shape })},action=signal,when=after`);
    }
  }

  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/writes.log`;
    const disks = new FakeDisks();
    disks.add("/dev/vda", 1024 * 1024);
    const seam = new WriteSeam({ mode: "real", target: disks, logPath: log });
    const w = (purpose: "migration-record" | "copy-area" | "metadata", what: string) =>
      seam.write({ device: "/dev/vda", offset: 0n, data: new Uint8Array(512), purpose, what });
    await w("migration-record", "migration record of /dev/vda: unit 0, status 0");
    await w("copy-area", "copy area of /dev/vda: unit 0, slot 0");
    await w("migration-record", "migration record of /dev/vda: unit 0, status 1");
    await w("metadata", "IMSM anchor of /dev/vda, generation 7");
    assert.equal(
      lastReshapeWrite(await Deno.readTextFile(log)),
      "migration-record write #2: migration record of /dev/vda: unit 0, status 1",
    );
    assert.equal(lastReshapeWrite(""), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
