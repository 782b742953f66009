/**
 * -E rendering paths the fixtures do not reach, built by editing a parsed fixture: a slot
 * under rebuild, a disk whose serial is not in the table, mdadm's size and time formats.
 */
import assert from "node:assert/strict";
import { ctime, humanSize, renderExamine } from "../../../cli/render/examine_text.ts";
import { renderExamineBrief } from "../../../cli/render/examine_brief.ts";
import type { ExaminedDevice } from "../../../core/examine.ts";
import { findThisDisk } from "../../../meta/imsm/examine_rules.ts";
import { paddedBytes } from "../../../meta/imsm/accessors.ts";
import { ORD_REBUILD, parseMetadata } from "../../../meta/imsm/mod.ts";
import { loadFixtureCase } from "./fixtures.ts";

function examined(caseName: string, diskIndex: number, serial: string): ExaminedDevice {
  const d = loadFixtureCase(caseName).disks[diskIndex];
  const metadata = parseMetadata(d.tail, {
    diskSize: d.diskSize,
    sectorSize: d.sectorSize,
    device: d.device,
  });
  return {
    device: d.device,
    metadata,
    error: null,
    serial,
    thisDisk: findThisDisk(metadata.mpb, paddedBytes(serial, 16)),
  };
}

const line = (text: string, label: string) =>
  text.split("\n").find((l) => l.startsWith(`${label.padStart(15)} :`));

Deno.test("a slot flagged for rebuild shows '_' and (out-of-sync)", () => {
  const e = examined("b_raid5_3disk", 1, "/dev/vdb");
  e.metadata!.mpb.volumes[0].maps[0].ord[1] |= ORD_REBUILD;
  const text = renderExamine(e, { timeZone: "utc" });
  assert.equal(line(text, "Slots"), "          Slots : [U_U]");
  assert.equal(line(text, "This Slot"), "      This Slot : 1 (out-of-sync)");
});

Deno.test("a disk whose serial is not in the table: This Slot ?, no own disk block first", () => {
  const e = examined("b_raid5_3disk", 0, "/dev/other");
  assert.equal(e.thisDisk?.index, -2);
  const text = renderExamine(e, { timeZone: "utc" });
  assert.equal(line(text, "This Slot"), "      This Slot : ?");
  const lines = text.split("\n");
  // After "RAID Devices" comes the volume directly, then all three table disks.
  assert.equal(lines[lines.findIndex((l) => l.startsWith("   RAID Devices")) + 2], "[vol0]:");
  assert.equal(lines.filter((l) => /^ {2}Disk0\d Serial/.test(l)).length, 3);
});

Deno.test("a failed member in the table is examined like mdadm: index -2", () => {
  const e = examined("e_raid1_2disk", 0, "/dev/vda");
  e.metadata!.mpb.disks[1].status |= 0x04; // vda is table index 1
  e.thisDisk = findThisDisk(e.metadata!.mpb, paddedBytes("/dev/vda", 16));
  assert.equal(e.thisDisk.index, -2);
  const text = renderExamine(e, { timeZone: "utc" });
  assert.ok(text.includes("  Disk01 Serial : /dev/vda\n          State : active failed\n"));
});

Deno.test("human_size follows mdadm's thresholds and rounding", () => {
  assert.equal(humanSize(5000n * 1024n - 1n), "");
  assert.equal(humanSize(61783040n), " (58.92 MiB 61.78 MB)");
  assert.equal(humanSize(2147483648n), " (2.00 GiB 2.15 GB)");
  assert.equal(humanSize(2n ** 41n), " (2.00 TiB 2.20 TB)");
  assert.equal(humanSize(2n ** 64n - 512n), ""); // negative as a C long long
});

Deno.test("ctime text: day padded with a space, cut to 24 characters", () => {
  assert.equal(ctime(1795483131n, "utc"), "Tue Nov 24 01:18:51 2026");
  assert.equal(ctime(0n + 86400n * 3n, "utc"), "Sun Jan  4 00:00:00 1970");
});

Deno.test("brief: two free spares group together, with the blank line mdadm prints", () => {
  const spare = examined("f0_raid5_3disk_plus_spare", 3, "/dev/vdd");
  const other = { ...spare, device: "/dev/vde" };
  assert.equal(
    renderExamineBrief([spare, other]),
    "ARRAY metadata=imsm UUID=00000000:00000000:00000000:00000000\n\n",
  );
  const member = examined("f0_raid5_3disk_plus_spare", 0, "/dev/vda");
  const verbose = renderExamineBrief([member, spare], { verbose: true });
  assert.ok(
    verbose.startsWith(
      "ARRAY metadata=imsm UUID=00000000:00000000:00000000:00000000\n   devices=/dev/vdd\n\n",
    ),
    verbose,
  );
});
