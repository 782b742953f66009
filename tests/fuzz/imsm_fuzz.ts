/**
 * Seeded mutation fuzzer for the IMSM reader. Each case takes the metadata tail of a real
 * fixture disk, mutates it (bit flips, byte stores, fields pushed to and past their limits,
 * truncation, another sector size) and usually re-fixes the checksum so the parser gets
 * past it. A case must either parse or throw ImsmFormatError; a parsed case must also
 * re-serialise to the same MPB bytes and render (-E text, brief, JSON) without throwing.
 * Anything else, or a case slower than 1 s, is a failure.
 *
 *   deno run --allow-read --allow-env tests/fuzz/imsm_fuzz.ts [--cases=N] [--seed=S]
 *   (or FUZZ_CASES / FUZZ_SEED); exits 1 on any failure.
 */
import { gunzipSync } from "node:zlib";
import { reassembleMpb } from "../../meta/imsm/anchor.ts";
import { fixMpbChecksum } from "../../meta/imsm/checksum.ts";
import { ImsmFormatError } from "../../meta/imsm/errors.ts";
import { findThisDisk } from "../../meta/imsm/examine_rules.ts";
import { parseMetadata } from "../../meta/imsm/metadata.ts";
import { serializeMpb } from "../../meta/imsm/mpb.ts";
import { paddedBytes } from "../../meta/imsm/accessors.ts";
import { renderExamine } from "../../cli/render/examine_text.ts";
import { renderExamineBrief } from "../../cli/render/examine_brief.ts";
import { renderExamineJson } from "../../cli/render/examine_json.ts";
import type { ExaminedDevice } from "../../core/examine.ts";

const FIXTURES = new URL("../fixtures/imsm/", import.meta.url);
/** Sectors of each fixture tail kept as fuzz input (MPB + migration record fit easily). */
const SEED_SECTORS = 16;
const SLOW_MS = 1000;

interface Seed {
  name: string;
  device: string;
  serial: string;
  /** Last SEED_SECTORS * 512 bytes of the disk. */
  tail: Uint8Array;
  diskSize: bigint;
  mpbSize: number;
}

export interface FuzzStats {
  cases: number;
  parsedOk: number;
  rejected: Record<string, number>;
  failures: number;
  failureSamples: string[];
  slowestMs: number;
}

function loadSeeds(): Seed[] {
  const seeds: Seed[] = [];
  const dirs = [...Deno.readDirSync(FIXTURES)].filter((e) => e.isDirectory).map((e) => e.name)
    .sort();
  for (const dir of dirs) {
    const meta = JSON.parse(Deno.readTextFileSync(new URL(`${dir}/meta.json`, FIXTURES))) as {
      disks: { device: string; serial: string; disk_size_bytes: number; tail_file: string }[];
    };
    for (const d of meta.disks) {
      const full = new Uint8Array(
        gunzipSync(Deno.readFileSync(new URL(`${dir}/${d.tail_file}`, FIXTURES))),
      );
      const tail = full.slice(full.length - SEED_SECTORS * 512);
      const mpbSize = new DataView(tail.buffer).getUint32(tail.length - 1024 + 0x24, true);
      seeds.push({
        name: `${dir}/${d.tail_file}`,
        device: d.device,
        serial: d.serial,
        tail,
        diskSize: BigInt(d.disk_size_bytes),
        mpbSize,
      });
    }
  }
  return seeds;
}

/** mulberry32: small, fast, good enough for mutation choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offsets (in the reassembled MPB) of the count/size/level fields worth pushing around. */
function interestingFields(img: Uint8Array, mpbSize: number): { at: number; width: number }[] {
  const out = [
    { at: 0x24, width: 4 }, // mpbSize
    { at: 0x38, width: 1 }, // numDisks
    { at: 0x39, width: 1 }, // numRaidDevs
    { at: 0x48, width: 4 }, // bbmLogSize
    { at: 0x34, width: 4 }, // attributes
    { at: 0x40, width: 4 }, // origFamilyNum
    { at: 0x50, width: 8 }, // creationTime
  ];
  // Walk the tables as the fixture lays them out (bounded by the fixture's own sizes).
  let pos = 0xd8 + img[0x38] * 48;
  for (let d = 0; d < img[0x38]; d++) {
    out.push({ at: 0xd8 + d * 48 + 16, width: 4 }, { at: 0xd8 + d * 48 + 24, width: 4 });
  }
  for (let vol = 0; vol < img[0x39] && pos + 112 + 48 <= mpbSize; vol++) {
    out.push({ at: pos + 16, width: 4 }, { at: pos + 20, width: 4 }); // size
    out.push({ at: pos + 88, width: 1 }, { at: pos + 89, width: 1 }); // migr state/type
    out.push({ at: pos + 50, width: 1 }, { at: pos + 80, width: 4 }); // rwh, curr unit
    let mpos = pos + 112;
    const maps = img[pos + 88] ? 2 : 1;
    for (let m = 0; m < maps && mpos + 48 <= mpbSize; m++) {
      const members = img[mpos + 16];
      out.push(
        { at: mpos, width: 4 },
        { at: mpos + 4, width: 4 },
        { at: mpos + 8, width: 4 },
        { at: mpos + 12, width: 2 }, // blocksPerStrip
        { at: mpos + 14, width: 1 }, // mapState
        { at: mpos + 15, width: 1 }, // raidLevel
        { at: mpos + 16, width: 1 }, // numMembers
        { at: mpos + 17, width: 1 }, // numDomains
        { at: mpos + 18, width: 1 }, // failedDiskNum
      );
      for (let s = 0; s < members; s++) out.push({ at: mpos + 48 + s * 4, width: 4 });
      mpos += 48 + members * 4;
    }
    pos = mpos;
  }
  return out.filter((f) => f.at + f.width <= img.length);
}

function setUint(img: Uint8Array, at: number, width: number, value: bigint): void {
  for (let i = 0; i < width; i++) img[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}
function getUint(img: Uint8Array, at: number, width: number): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) v |= BigInt(img[at + i]) << BigInt(8 * i);
  return v;
}

interface Mutant {
  tail: Uint8Array;
  diskSize: bigint;
  sectorSize: number;
  what: string;
}

/** One mutated input derived from `seed`. */
function mutate(seed: Seed, rnd: () => number): Mutant {
  const pick = (n: number) => Math.floor(rnd() * n);
  const tail = seed.tail.slice();
  const origSectors = Math.ceil(seed.mpbSize / 512);
  // Work on the MPB image in its on-disk arrangement for the original size.
  const img = reassembleMpb(tail, 512, origSectors * 512);
  const what: string[] = [];
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const kind = pick(11);
    if (kind === 10) {
      // Append a bad-block log (sometimes malformed) and grow mpb_size to cover it.
      const size = new DataView(img.buffer).getUint32(0x24, true);
      const entries = pick(4);
      const logSize = 8 + 8 * entries;
      if (size + logSize <= img.length) {
        const v = new DataView(img.buffer);
        v.setUint32(size, pick(4) === 0 ? pick(0x10000) : 0xabadb10c, true);
        v.setUint32(size + 4, pick(4) === 0 ? entries + 1 : entries, true);
        for (let k = 0; k < entries * 8; k++) img[size + 8 + k] = pick(256);
        v.setUint32(0x24, size + logSize, true);
        v.setUint32(0x48, pick(6) === 0 ? logSize - 8 : logSize, true);
        what.push(`bbm${entries}`);
      }
    } else if (kind < 3) {
      const bits = 1 + pick(8);
      for (let b = 0; b < bits; b++) {
        const at = pick(img.length);
        img[at] ^= 1 << pick(8);
      }
      what.push(`flip${bits}`);
    } else if (kind < 4) {
      const at = pick(img.length);
      img[at] = pick(256);
      what.push(`byte@${at}`);
    } else {
      const fields = interestingFields(img, Math.min(seed.mpbSize, img.length));
      const f = fields[pick(fields.length)];
      const max = (1n << BigInt(8 * f.width)) - 1n;
      const cur = getUint(img, f.at, f.width);
      const choices = [0n, 1n, max, max - 1n, cur + 1n, cur - 1n, cur * 2n, cur + 256n, 0xffn];
      let val = choices[pick(choices.length)];
      if (pick(4) === 0) {
        val = BigInt(Math.floor(rnd() * Number(max > 0xffffffffn ? 0xffffffffn : max)));
      }
      val = ((val % (max + 1n)) + (max + 1n)) % (max + 1n);
      setUint(img, f.at, f.width, val);
      what.push(`field@${f.at}=${val}`);
    }
  }
  // Put the image back where the original layout had it.
  const anchorStart = tail.length - 1024;
  tail.set(img.subarray(0, 512), anchorStart);
  if (origSectors > 1) tail.set(img.subarray(512), anchorStart - (origSectors - 1) * 512);

  // Usually fix the checksum for the layout the parser will use, to get past that check.
  if (pick(10) < 8) {
    const newSize = new DataView(tail.buffer).getUint32(anchorStart + 0x24, true);
    const sectors = Math.ceil(newSize / 512);
    if (newSize >= 0xd8 && sectors + 1 <= tail.length / 512) {
      const re = reassembleMpb(tail, 512, newSize);
      const sum = fixMpbChecksum(re);
      new DataView(tail.buffer).setUint32(anchorStart + 0x20, sum, true);
      what.push("csum");
    }
  }
  // Sometimes flip the migration record, truncate, or claim another sector size.
  if (pick(8) === 0) {
    tail[tail.length - 512 + pick(128)] ^= 1 << pick(8);
    what.push("migr");
  }
  let out = tail;
  let diskSize = seed.diskSize;
  let sectorSize = 512;
  const t = pick(20);
  if (t === 0) {
    const keep = pick(tail.length + 1);
    out = tail.slice(tail.length - keep);
    what.push(`trunc${keep}`);
  } else if (t === 1) {
    diskSize = BigInt(pick(4096));
    what.push(`disk${diskSize}`);
  } else if (t === 2) {
    sectorSize = 4096;
    what.push("4k");
  }
  return { tail: out, diskSize, sectorSize, what: what.join(",") };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs `cases` cases from `seed`; never throws for a case, reports instead. */
export function runFuzz(opts: { cases: number; seed: number }): FuzzStats {
  const seeds = loadSeeds();
  const stats: FuzzStats = {
    cases: 0,
    parsedOk: 0,
    rejected: {},
    failures: 0,
    failureSamples: [],
    slowestMs: 0,
  };
  const fail = (msg: string) => {
    stats.failures++;
    if (stats.failureSamples.length < 10) stats.failureSamples.push(msg);
  };
  for (let i = 0; i < opts.cases; i++) {
    const rnd = prng((opts.seed * 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b));
    const seed = seeds[Math.floor(rnd() * seeds.length)];
    const m = mutate(seed, rnd);
    const id = `seed=${opts.seed} case=${i} ${seed.name} [${m.what}]`;
    const t0 = performance.now();
    try {
      const parsed = parseMetadata(m.tail, {
        diskSize: m.diskSize,
        sectorSize: m.sectorSize,
        device: seed.device,
      });
      // Invariant: what parsed re-serialises to the same bytes.
      const img = reassembleMpb(m.tail, m.sectorSize, parsed.mpb.mpbSize);
      const again = serializeMpb(parsed.mpb);
      if (!equalBytes(again, img.subarray(0, parsed.mpb.mpbSize))) {
        fail(`${id}: re-serialised MPB differs`);
      }
      const e: ExaminedDevice = {
        device: seed.device,
        metadata: parsed,
        error: null,
        serial: seed.serial,
        thisDisk: findThisDisk(parsed.mpb, paddedBytes(seed.serial, 16)),
      };
      renderExamine(e, { timeZone: "utc" });
      renderExamineBrief([e]);
      renderExamineJson([e]);
      stats.parsedOk++;
    } catch (err) {
      if (err instanceof ImsmFormatError) {
        stats.rejected[err.code] = (stats.rejected[err.code] ?? 0) + 1;
      } else {
        fail(`${id}: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
    if (ms > SLOW_MS) fail(`${id}: took ${ms.toFixed(0)} ms`);
    stats.cases++;
  }
  return stats;
}

function argValue(name: string, env: string, fallback: number): number {
  const flag = Deno.args.find((a) => a.startsWith(`--${name}=`));
  const raw = flag ? flag.slice(name.length + 3) : Deno.env.get(env);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}/${env}: bad value ${raw}`);
  return n;
}

if (import.meta.main) {
  const cases = argValue("cases", "FUZZ_CASES", 10000);
  const seed = argValue("seed", "FUZZ_SEED", 1);
  const t0 = performance.now();
  const s = runFuzz({ cases, seed });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`imsm fuzz: seed ${seed}, ${s.cases} cases in ${secs} s`);
  console.log(`  parsed ok: ${s.parsedOk}`);
  const reasons = Object.entries(s.rejected).sort((a, b) => b[1] - a[1]);
  console.log(`  rejected:  ${reasons.reduce((n, [, c]) => n + c, 0)}`);
  for (const [code, n] of reasons) console.log(`    ${code.padEnd(14)} ${n}`);
  console.log(`  failures:  ${s.failures}`);
  console.log(`  slowest case: ${s.slowestMs.toFixed(1)} ms`);
  for (const f of s.failureSamples) console.log(`  FAIL ${f}`);
  if (s.failures > 0) Deno.exit(1);
}
