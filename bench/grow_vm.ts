/**
 * Grow benchmark on the real kernel (issue 6): the same IMSM array grown by Debian's mdadm 4.2
 * and by mdts, and the bare md reshape of the same geometry with no checkpointing as the
 * floor, side by side in one VM boot. Scenarios raid5 3->4 and raid0 2->3.
 *
 *   deno task bench:grow [--member-mib 128] [--repeats 2] [--budget-min 24] [--out FILE]
 *
 * Each measurement is one run of bench/grow_vm_guest.sh in the guest (it says what is timed
 * and when the clock stops). Prints a markdown table for BENCHMARKS.md and writes the raw
 * results as JSON (--out, default <vm work dir>/grow-bench.json). A repeat is started only if
 * the time spent so far says it fits in --budget-min. Speed is never asserted.
 */
import { Vm } from "../tests/vm/harness/vm.ts";

type Tool = "floor" | "mdadm" | "mdts";

interface Scenario {
  label: string;
  level: 0 | 5;
  members: number;
  grow: number;
}

const SCENARIOS: Scenario[] = [
  { label: "raid5 3->4", level: 5, members: 3, grow: 4 },
  { label: "raid0 2->3", level: 0, members: 2, grow: 3 },
];

interface Measurement {
  tool: Tool;
  scenario: string;
  repeat: number;
  status: string;
  data?: string;
  ms?: number;
  /** When the grow command returned, the grow process was gone, md reached its final shape,
   * the metadata said idle (ms after the start; the wall time is the last of them). */
  cmdMs?: number;
  goneMs?: number;
  mdMs?: number;
  metaMs?: number;
  windows?: number;
  records?: number;
  copies?: number;
  mpb?: number;
  /** stderr tail of a failed run. */
  failure?: string;
  /** What the guest script logged (stderr). */
  log?: string;
}

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

function positiveInt(name: string, fallback: number): number {
  const text = option(name, String(fallback));
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench:grow: --${name} ${text}: not a positive whole number`);
    Deno.exit(2);
  }
  return n;
}

function accel(): string {
  const want = Deno.env.get("MDTS_VM_ACCEL");
  if (want) return want;
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return "kvm";
  } catch {
    return "tcg";
  }
}

/** "RESULT k=v k=v" of the guest script. */
function parseResult(stdout: string): Record<string, string> | null {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) return null;
  const out: Record<string, string> = {};
  for (const kv of line.slice(7).trim().split(/\s+/)) {
    const eq = kv.indexOf("=");
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
const secs = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function table(results: Measurement[], memberMiB: number): string {
  const rows = [
    "| tool | scenario | MiB per member | wall time s (each run) | mean s | mdts/mdadm | mdts/floor | mdts windows / checkpoints / critical backups |",
    "| ---- | -------- | -------------- | ---------------------- | ------ | ---------- | ---------- | --------------------------------------------- |",
  ];
  for (const s of SCENARIOS) {
    const ok = (t: Tool) =>
      results.filter((r) => r.scenario === s.label && r.tool === t && r.status === "ok");
    const meanOf = (t: Tool) => (ok(t).length ? mean(ok(t).map((r) => r.ms!)) : undefined);
    for (const t of ["mdadm", "mdts", "floor"] as Tool[]) {
      const all = results.filter((r) => r.scenario === s.label && r.tool === t);
      const each = all.map((r) => (r.status === "ok" ? secs(r.ms) : r.status)).join(", ");
      const m = meanOf(t);
      const ratio = (other: Tool) => {
        const o = meanOf(other);
        return t === "mdts" && m !== undefined && o !== undefined ? (m / o).toFixed(2) : "";
      };
      const counts = t === "mdts"
        ? ok(t).map((r) => `${r.windows} / ${r.records} / ${r.copies}`).join("; ")
        : "";
      rows.push(
        `| ${t} | ${s.label} | ${memberMiB} | ${each} | ${secs(m)} | ${ratio("mdadm")} | ${
          ratio("floor")
        } | ${counts} |`,
      );
    }
  }
  return rows.join("\n");
}

/** Where each run's time went: seconds after the start of the grow. */
function phases(results: Measurement[]): string {
  const rows = [
    "| tool | scenario | run | command returned | md in final shape | metadata idle | grow process gone | wall |",
    "| ---- | -------- | --- | ---------------- | ----------------- | ------------- | ----------------- | ---- |",
  ];
  for (const r of results.filter((x) => x.status === "ok")) {
    const meta = r.tool === "floor" ? "-" : secs(r.metaMs);
    rows.push(
      `| ${r.tool} | ${r.scenario} | ${r.repeat} | ${secs(r.cmdMs)} | ${secs(r.mdMs)} | ${meta} | ${
        r.tool === "floor" ? "-" : secs(r.goneMs)
      } | ${secs(r.ms)} |`,
    );
  }
  return rows.join("\n");
}

async function main(): Promise<void> {
  const memberMiB = positiveInt("member-mib", 128);
  const repeats = positiveInt("repeats", 2);
  const budgetMs = positiveInt("budget-min", 24) * 60_000;
  await using vm = new Vm({
    disks: ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: memberMiB + 16 })),
    label: "bench-grow",
  });
  const boot = await vm.boot();
  // the budget counts VM time: waiting for the VM lock (other users) is not spent here
  const t0 = Date.now() - boot.ms;
  const outPath = option("out", `${vm.workDir}/grow-bench.json`);
  const sh = async (cmd: string) => (await vm.run(cmd, { timeoutMs: 240_000 })).stdout.trim();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  await sh(`${mdts} --version`); // fills the guest's Deno cache
  const startMs = Number(
    await sh(
      `s=$(date +%s%N); ${mdts} --version >/dev/null; ` +
        `echo $((($(date +%s%N) - s) / 1000000))`,
    ),
  );
  const facts = {
    date: new Date().toISOString(),
    accel: accel(),
    vcpus: Number(await sh("nproc")),
    memMiB: 3072,
    kernel: await sh("uname -r"),
    mdadm: await sh("mdadm --version 2>&1"),
    deno: (await sh("deno --version")).split("\n")[0],
    speedLimitKiBs: await sh(
      "echo $(cat /proc/sys/dev/raid/speed_limit_min) $(cat /proc/sys/dev/raid/speed_limit_max)",
    ),
    bootMs: boot.ms,
    mdtsStartMs: startMs,
    memberMiB,
  };
  console.log(JSON.stringify(facts));

  const results: Measurement[] = [];
  let run = 0;
  measure: for (let repeat = 1; repeat <= repeats; repeat++) {
    const repeatStart = Date.now();
    // the second repeat runs the tools in the opposite order (warm caches, background noise)
    const tools: Tool[] = repeat % 2 === 1
      ? ["floor", "mdadm", "mdts"]
      : ["mdts", "mdadm", "floor"];
    for (const s of SCENARIOS) {
      for (const tool of tools) {
        run++;
        const disks = ["vda", "vdb", "vdc", "vdd"].slice(0, s.grow).map((d) => `/dev/${d}`);
        const cmd = `bash ${vm.repo}/bench/grow_vm_guest.sh ${tool} ${s.level} ${s.members} ` +
          `${s.grow} ${memberMiB} ${run} ${disks.join(" ")}`;
        const r = await vm.run(cmd, { timeoutMs: 1_200_000 });
        const kv = parseResult(r.stdout);
        const m: Measurement = {
          tool,
          scenario: s.label,
          repeat,
          status: kv?.status ?? `exit ${r.code}`,
          data: kv?.data,
          ms: num(kv?.ms),
          cmdMs: num(kv?.cmd_ms),
          goneMs: num(kv?.gone_ms),
          mdMs: num(kv?.md_ms),
          metaMs: num(kv?.meta_ms),
          windows: num(kv?.windows),
          records: num(kv?.records),
          copies: num(kv?.copies),
          mpb: num(kv?.mpb),
        };
        if (m.status !== "ok" || m.data !== "ok") {
          m.failure = r.stderr.split("\n").slice(-40).join("\n");
          console.error(`${tool} ${s.label} #${repeat}: ${m.status}\n${m.failure}`);
        }
        console.log(JSON.stringify(m));
        m.log = r.stderr;
        results.push(m);
        if (m.status !== "ok") {
          // arrays left running would make every later run fail on busy disks
          const mdstat = await sh("cat /proc/mdstat");
          if (/^md/m.test(mdstat)) {
            console.error(`arrays left after a failed run; no further runs:\n${mdstat}`);
            break measure;
          }
        }
      }
    }
    const spent = Date.now() - t0;
    if (repeat < repeats && spent + (Date.now() - repeatStart) > budgetMs) {
      console.log(`stopping after ${repeat} repeat(s): ${(spent / 60000).toFixed(1)} min spent`);
      break;
    }
  }
  await Deno.writeTextFile(outPath, JSON.stringify({ facts, results }, null, 2) + "\n");
  console.log(`\n${table(results, memberMiB)}\n\n${phases(results)}\n\nraw results: ${outPath}`);
}

if (import.meta.main) await main();
