import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { WriteRequest } from "../../../core/ports.ts";
import { isErrno } from "../../../kernel/errno.ts";
import { FakeDisks } from "../../../kernel/fake/fake_disks.ts";
import { parseFaultRule, WriteSeam, writeSeamFromEnv } from "../../../kernel/writes.ts";

function req(i: number, purpose: WriteRequest["purpose"] = "migration-record"): WriteRequest {
  return {
    device: "/dev/vda",
    offset: BigInt(512 * i),
    data: new Uint8Array(512).fill(i + 1),
    purpose,
    what: `record ${i}`,
  };
}

function disks(): FakeDisks {
  const d = new FakeDisks();
  d.add("/dev/vda", 64 * 1024);
  return d;
}

Deno.test("parseFaultRule: keys, defaults and errors", () => {
  assert.deepEqual(parseFaultRule("purpose=migration-record,after=3,action=fail"), {
    purpose: "migration-record",
    device: null,
    volume: null,
    unit: null,
    after: 3,
    action: "fail",
    when: "before",
    exitCode: 99,
  });
  const r = parseFaultRule("device=/dev/vdb,action=exit,when=after,code=7");
  assert.equal(r.purpose, "*");
  assert.equal(r.device, "/dev/vdb");
  assert.equal(r.when, "after");
  assert.equal(r.exitCode, 7);
  assert.throws(() => parseFaultRule("purpose=metdata"), /unknown purpose "metdata"/);
  assert.throws(() => parseFaultRule("action=explode"), /unknown action/);
  assert.throws(() => parseFaultRule("after=x"), /not a number/);
  assert.throws(() => parseFaultRule("afte=1"), /unknown key "afte"/);
  assert.throws(() => parseFaultRule("after"), /not key=value/);
});

Deno.test("real mode passes writes through and records them", async () => {
  const d = disks();
  const seam = new WriteSeam({ mode: "real", target: d });
  await seam.write(req(2, "metadata"));
  await seam.flush("/dev/vda");
  assert.deepEqual(d.bytes("/dev/vda").subarray(1024, 1536), new Uint8Array(512).fill(3));
  assert.equal(seam.records.length, 1);
  assert.equal(seam.records[0].performed, true);
  assert.equal(
    seam.records[0].sha256,
    createHash("sha256").update(new Uint8Array(512).fill(3)).digest("hex").slice(0, 16),
  );
});

Deno.test("dry-run touches nothing and prints what would be written", async () => {
  const d = disks();
  const printed: string[] = [];
  const seam = new WriteSeam({ mode: "dry-run", target: d, print: (l) => printed.push(l) });
  await seam.write(req(1, "metadata"));
  await seam.flush("/dev/vda");
  assert.equal(d.writes.length, 0);
  assert.deepEqual(d.bytes("/dev/vda"), new Uint8Array(64 * 1024));
  assert.equal(printed.length, 1);
  assert.match(
    printed[0],
    /^dry-run: would write 512 bytes at offset 512 of \/dev\/vda \(metadata: record 1\) sha256 [0-9a-f]{16}$/,
  );
  assert.equal(seam.records[0].performed, false);
});

Deno.test("MDTS_WRITE_LOG gets one line per write", async () => {
  const log = await Deno.makeTempFile({ prefix: "mdts-writelog-" });
  try {
    const seam = writeSeamFromEnv(disks(), false, (k) => k === "MDTS_WRITE_LOG" ? log : undefined);
    await seam.write(req(0, "copy-area"));
    await seam.write(req(5, "metadata"));
    const lines = (await Deno.readTextFile(log)).trimEnd().split("\n");
    assert.equal(lines.length, 2);
    const f = lines[1].split("\t");
    assert.match(f[0], /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(f.slice(1, 6), ["write", "/dev/vda", "2560", "512", "metadata"]);
    assert.equal(f[6], seam.records[1].sha256);
    assert.equal(f[7], '"record 5"');
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("fault fail: the 4th matching write fails with EIO, others pass", async () => {
  const d = disks();
  const seam = new WriteSeam({
    mode: "real",
    target: d,
    fault: parseFaultRule("purpose=migration-record,after=3,action=fail"),
  });
  await seam.write(req(0, "metadata")); // does not match
  for (let i = 1; i <= 3; i++) await seam.write(req(i));
  await assert.rejects(() => seam.write(req(4)), (e) => {
    assert.ok(isErrno(e, "EIO"));
    assert.match((e as Error).message, /EIO writing 512 bytes at offset 2048 of \/dev\/vda/);
    assert.match((e as Error).message, /injected by MDTS_FAULT at migration-record write #4/);
    return true;
  });
  assert.equal(d.writes.length, 4); // the failed write never reached the disk
  await seam.write(req(5)); // fires only once
  assert.equal(d.writes.length, 5);
});

Deno.test("fault exit before / after the write", async () => {
  for (const when of ["before", "after"] as const) {
    const d = disks();
    const writesAtExit: number[] = [];
    const seam = new WriteSeam({
      mode: "real",
      target: d,
      fault: parseFaultRule(`purpose=copy-area,action=exit,when=${when},code=42`),
      exit: (c) => {
        assert.equal(c, 42);
        writesAtExit.push(d.writes.length);
      },
    });
    await seam.write(req(1, "metadata"));
    await seam.write(req(2, "copy-area"));
    // before: the process would die with only the non-matching write on disk
    assert.deepEqual(writesAtExit, [when === "before" ? 1 : 2]);
  }
});

Deno.test("fault signal: marker file written, then hang (after the write is flushed)", async () => {
  const marker = await Deno.makeTempFile({ prefix: "mdts-marker-" });
  await Deno.remove(marker);
  const d = disks();
  let hung = false;
  const seam = new WriteSeam({
    mode: "real",
    target: d,
    fault: parseFaultRule("purpose=metadata,after=1,action=signal,when=after"),
    faultMarker: marker,
    hang: () => {
      hung = true;
      return Promise.resolve();
    },
  });
  await seam.write(req(1, "metadata"));
  assert.equal(hung, false);
  await seam.write(req(2, "metadata"));
  assert.equal(hung, true);
  assert.match(await Deno.readTextFile(marker), /metadata write #2 \(record 2\) to \/dev\/vda/);
  d.crash(); // the faulting write was flushed before the marker: it survives a power cut
  assert.deepEqual(d.bytes("/dev/vda").subarray(1024, 1536), new Uint8Array(512).fill(3));
  await Deno.remove(marker);
});

Deno.test("fault hang before: the write is not performed while hanging", async () => {
  const d = disks();
  let release!: () => void;
  const seam = new WriteSeam({
    mode: "real",
    target: d,
    fault: parseFaultRule("action=hang"),
    hang: () => new Promise<void>((r) => (release = r)),
  });
  const pending = seam.write(req(3, "data"));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(d.writes.length, 0);
  release();
  await pending;
  assert.equal(d.writes.length, 1);
});

Deno.test("fault volume=, unit=: only reshape writes of that volume at or past that unit count", async () => {
  assert.deepEqual(parseFaultRule("volume=r5av0,unit=9,after=1"), {
    purpose: "*",
    device: null,
    volume: "r5av0",
    unit: 9,
    after: 1,
    action: "fail",
    when: "before",
    exitCode: 99,
  });
  assert.throws(() => parseFaultRule("unit=x"), /unit=x is not a number/);
  const d = disks();
  const seam = new WriteSeam({
    mode: "real",
    target: d,
    fault: parseFaultRule("purpose=migration-record,volume=v0,unit=9,after=1,action=fail"),
  });
  const at = (i: number, volume: string, unit: number): WriteRequest => ({
    ...req(i),
    reshapeAt: { volume, unit },
  });
  await seam.write(req(0)); // no reshape position: never matches
  await seam.write(at(1, "v0", 8)); // before unit 9
  await seam.write(at(2, "v1", 12)); // another volume
  await seam.write(at(3, "v0", 10)); // first match (a window skipped unit 9)
  await assert.rejects(() => seam.write(at(4, "v0", 10)), /migration-record write #2/);
  assert.equal(d.writes.length, 4);
});
