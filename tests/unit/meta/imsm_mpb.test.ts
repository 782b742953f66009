/** Parse/serialise of real mdadm 4.2 IMSM metadata (tests/fixtures/imsm). */
import assert from "node:assert/strict";
import {
  ALL_LAYOUTS,
  anchorOffset,
  computeMpbChecksum,
  containerUuid,
  layoutProblems,
  migrationRecordOffset,
  parseMetadata,
  parseMpb,
  placeMpb,
  reassembleMpb,
  serializeMigrationSector,
  serializeMpb,
  storedMpbChecksum,
  versionText,
  volumeUuid,
} from "../../../meta/imsm/mod.ts";
import { allFixtureDisks, type FixtureDisk } from "./fixtures.ts";

function parseDisk(d: FixtureDisk) {
  return parseMetadata(d.tail, {
    diskSize: d.diskSize,
    sectorSize: d.sectorSize,
    device: d.device,
  });
}

/** Value of a "Label : value" line of the saved mdadm -E text (first occurrence). */
function examineField(text: string, label: string): string {
  const line = text.split("\n").find((l) => l.trimStart().startsWith(`${label} :`));
  assert.ok(line, `label ${label} in examine text`);
  return line.slice(line.indexOf(" : ") + 3);
}

Deno.test("layouts tile their structures exactly", () => {
  for (const l of ALL_LAYOUTS) assert.deepEqual(layoutProblems(l), [], l.structure);
});

Deno.test("decoded values have the JS type their layout kind promises", () => {
  const d = allFixtureDisks().find((x) => x.caseName.startsWith("f_raid5_grow_3to4_live"))!;
  const p = parseDisk(d);
  const records: [unknown, typeof ALL_LAYOUTS[number]][] = [
    [p.mpb, ALL_LAYOUTS[0]],
    [p.mpb.disks[0], ALL_LAYOUTS[1]],
    [p.mpb.volumes[0], ALL_LAYOUTS[2]],
    [p.mpb.volumes[0].maps[1], ALL_LAYOUTS[3]],
    [p.migrationRecord, ALL_LAYOUTS[4]],
  ];
  for (const [rec, layout] of records) {
    for (const f of layout.fields) {
      const v = (rec as Record<string, unknown>)[f.name];
      const want = f.kind === "bytes" ? "Uint8Array" : f.kind === "u64" ? "bigint" : "number";
      const got = v instanceof Uint8Array ? "Uint8Array" : typeof v;
      assert.equal(got, want, `${layout.structure}.${f.name}`);
    }
  }
});

for (const d of allFixtureDisks()) {
  const name = `${d.caseName}/disk${d.index}`;

  Deno.test(`${name}: parses, header fields match mdadm -E`, () => {
    const p = parseDisk(d);
    assert.equal(p.checksumValid, true);
    const t = d.examineText;
    assert.equal(versionText(p.mpb), examineField(t, "Version"));
    assert.equal(p.mpb.familyNum.toString(16).padStart(8, "0"), examineField(t, "Family"));
    assert.equal(
      p.mpb.generationNum.toString(16).padStart(8, "0"),
      examineField(t, "Generation"),
    );
    assert.equal(
      `${p.mpb.checkSum.toString(16).padStart(8, "0")} correct`,
      examineField(t, "Checksum"),
    );
    assert.equal(String(p.mpb.numDisks), examineField(t, "Disks"));
    assert.equal(String(p.mpb.numRaidDevs), examineField(t, "RAID Devices"));
    assert.equal(containerUuid(p.mpb), examineField(t, "UUID"));
    // Each volume's UUID line follows its "[name]:" line.
    const lines = t.split("\n");
    p.mpb.volumes.forEach((_, i) => {
      const at = lines.findIndex((l) => l === `       Subarray : ${i}`);
      assert.ok(at > 0);
      assert.equal(lines[at + 1], `           UUID : ${volumeUuid(p.mpb, i)}`);
    });
  });

  Deno.test(`${name}: serialize(parse(MPB)) is bit-exact, migration sector too`, () => {
    const p = parseDisk(d);
    const original = reassembleMpb(d.tail, d.sectorSize, p.mpb.mpbSize);
    const again = serializeMpb(p.mpb);
    assert.equal(again.length, p.mpb.mpbSize);
    assert.deepEqual(again, original.subarray(0, p.mpb.mpbSize));
    // mdadm leaves stale bytes after mpb_size in the last MPB sector; with them handed back,
    // placing the re-serialised MPB reproduces the tail sectors byte for byte.
    const tailStart = d.diskSize - BigInt(d.tail.length);
    for (const piece of placeMpb(again, d.diskSize, d.sectorSize, p.mpbSectorPadding)) {
      const at = Number(piece.offset - tailStart);
      assert.deepEqual(piece.data, d.tail.subarray(at, at + piece.data.length), piece.part);
    }
    // one request from the first extension sector through the anchor: a cut cannot leave a
    // new extension behind an old anchor
    const pieces = placeMpb(again, d.diskSize, d.sectorSize, p.mpbSectorPadding);
    assert.equal(pieces.length, 1);
    assert.equal(
      pieces[0].offset + BigInt(pieces[0].data.length),
      anchorOffset(d.diskSize, d.sectorSize) + BigInt(d.sectorSize),
    );
    const lastAt = Number(migrationRecordOffset(d.diskSize, d.sectorSize) - tailStart);
    assert.deepEqual(
      serializeMigrationSector(p.migrationRecord, d.sectorSize),
      d.tail.subarray(lastAt),
    );
    assert.equal(Number(anchorOffset(d.diskSize, d.sectorSize) - tailStart), 4193280);
  });

  Deno.test(`${name}: generation bump + checksum fix yields a valid MPB`, () => {
    const p = parseDisk(d);
    const bumped = serializeMpb({ ...p.mpb, generationNum: p.mpb.generationNum + 1 });
    assert.equal(storedMpbChecksum(bumped), computeMpbChecksum(bumped));
    assert.notEqual(storedMpbChecksum(bumped), p.mpb.checkSum);
    const back = parseMpb(bumped, { device: d.device });
    assert.equal(back.mpb.generationNum, p.mpb.generationNum + 1);
    assert.deepEqual({ ...back.mpb, generationNum: 0, checkSum: 0 }, {
      ...p.mpb,
      generationNum: 0,
      checkSum: 0,
    });
  });
}
