/**
 * Benchmarks of the pure hot paths: metadata parse/serialize (the monitor re-reads and rewrites
 * the MPB on every state change and checkpoint) and restripe (a grow window's critical section
 * is striped with parity into the copy area). Figures are in BENCHMARKS.md.
 */
import { gunzipSync } from "node:zlib";
import { parseMetadata } from "../meta/imsm/metadata.ts";
import { serializeMpb } from "../meta/imsm/mpb.ts";
import { imsmGeometry } from "../core/restripe/layout.ts";
import { stripeRows } from "../core/restripe/copy.ts";
import { parityOf } from "../core/restripe/parity.ts";

const FIX = new URL("../tests/fixtures/imsm/c_raid0_raid5_3disk/", import.meta.url);
const meta = JSON.parse(Deno.readTextFileSync(new URL("meta.json", FIX)));
const disk = meta.disks[0];
const tail4m = new Uint8Array(gunzipSync(Deno.readFileSync(new URL(disk.tail_file, FIX))));
// the parser wants the last sectors only: MPB extension + anchor + migration record
const tail = tail4m.subarray(tail4m.length - 8192);
const opts = { diskSize: BigInt(disk.disk_size_bytes), sectorSize: 512, device: "/dev/vda" };
const parsed = parseMetadata(tail, opts);

Deno.bench("IMSM parse: two-volume MPB + migration sector", { group: "meta" }, () => {
  parseMetadata(tail, opts);
});

Deno.bench("IMSM serialize: two-volume MPB with checksum", { group: "meta" }, () => {
  serializeMpb(parsed.mpb);
});

// 1 MiB of array data per member row set: raid5 4 members, 64 KiB chunk (a copy-area unit)
const g = imsmGeometry(5, 4, 128);
const window = new Uint8Array(3 * 65536 * 16); // 16 stripe rows = 3 MiB of array data
crypto.getRandomValues(window.subarray(0, 65536));
Deno.bench("restripe: 3 MiB into raid5 4x64K rows with parity", { group: "restripe" }, () => {
  stripeRows(g, window, 0);
});

const blocks = [0, 1, 2].map(() => new Uint8Array(1 << 20).fill(0x5a));
Deno.bench("parity: XOR of 3 x 1 MiB", { group: "restripe" }, () => {
  parityOf(blocks, 1 << 20);
});
