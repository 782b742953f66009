/**
 * Guest-side probe: replays one sequence of sysfs operations on the real kernel and on the
 * FakeKernel, reading the same attributes after every step, and prints the differences as JSON.
 *
 *   kernel_fake_compare.ts vdb vdc
 */
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import type { Kernel } from "../../../kernel/interface.ts";
import { LinuxKernel } from "../../../kernel/real.ts";
import { parseMdstat } from "../../../kernel/md/mdstat.ts";
import { emit } from "./kernel_guest_util.ts";

const ARRAY_ATTRS = [
  "array_state",
  "level",
  "raid_disks",
  "chunk_size",
  "layout",
  "component_size",
  "array_size",
  "metadata_version",
  "resync_start",
  "reshape_position",
  "safe_mode_delay",
  "max_read_errors",
  "consistency_policy",
  "sync_action",
  "sync_min",
  "sync_max",
  "sync_completed",
  "degraded",
  "suspend_lo",
  "suspend_hi",
];
const MEMBER_ATTRS = ["state", "slot", "offset", "size", "recovery_start"];

type Step = { name: string; run: (k: Kernel, devnm: string) => Promise<unknown> };

function steps(disks: string[]): Step[] {
  const w = (attr: string, value: string): Step => ({
    name: `${attr} <- ${JSON.stringify(value)}`,
    run: (k, devnm) => k.md.write(devnm, attr, value),
  });
  return [
    w("metadata_version", "external:mdts-probe"),
    w("level", "raid1"),
    w("raid_disks", "2"),
    w("chunk_size", "65536"),
    w("component_size", "16384"),
    w("resync_start", "18446744073709551615"),
    ...disks.flatMap((d, slot) => [
      {
        name: `new_dev <- ${d}`,
        run: async (k: Kernel, devnm: string) => {
          await k.md.write(devnm, "new_dev", (await k.md.blockDevNumber(d))!);
        },
      },
      w(`dev-${d}/offset`, "2048"),
      w(`dev-${d}/size`, "16384"),
      w(`dev-${d}/slot`, String(slot)),
    ]),
    w("array_state", "readonly"),
    w("array_state", "active"),
    w("safe_mode_delay", "4.000\n"),
    w("sync_action", "frozen"),
    w("sync_action", "idle"),
    w("array_state", "clean"),
    w(`dev-${disks[1]}/state`, "faulty"),
    w(`dev-${disks[1]}/state`, "-blocked"),
    w(`dev-${disks[1]}/slot`, "none"),
    w(`dev-${disks[1]}/state`, "remove"),
    w("array_state", "inactive"),
    w("array_state", "clear"),
  ];
}

async function snapshot(k: Kernel, devnm: string, disks: string[]) {
  const s: Record<string, string | null> = {};
  for (const a of ARRAY_ATTRS) s[a] = await k.md.read(devnm, a).catch((e) => `error ${e.code}`);
  for (const d of disks) {
    for (const a of MEMBER_ATTRS) {
      s[`dev-${d}/${a}`] = await k.md.read(devnm, `dev-${d}/${a}`).catch((e) => `error ${e.code}`);
    }
  }
  const entry = parseMdstat(await k.mdstatText()).arrays.find((x) => x.devnm === devnm);
  s["mdstat"] = entry
    ? `${entry.active ? "active" : "inactive"} ${entry.readOnly} ${entry.level} ` +
      `${entry.members.map((m) => `${m.name}${m.faulty ? "(F)" : ""}${m.spare ? "(S)" : ""}`)} ` +
      `[${entry.raidDisks}/${entry.workingDisks}] [${entry.status}] blocks=${entry.blocks}`
    : null;
  return s;
}

async function main(disks: string[]) {
  const real = new LinuxKernel();
  const devnm = (await real.createArray()).devnm;
  const fake = new FakeKernel();
  for (const d of disks) {
    const majMin = (await real.md.blockDevNumber(d))!;
    fake.addDisk({ name: d, sizeBytes: 64 << 20, majMin });
  }
  await fake.createArray(devnm);
  const out = [];
  const first = [await snapshot(real, devnm, disks), await snapshot(fake, devnm, disks)];
  out.push({ step: "created", diffs: diff(first[0], first[1]), real: first[0] });
  for (const step of steps(disks)) {
    const results = [];
    for (const k of [real, fake]) {
      results.push(
        await step.run(k, devnm).then(() => "ok", (e) => `error ${e.code ?? e.message}`),
      );
    }
    // the kernel may finish things asynchronously (e.g. a stop); give it a moment
    await new Promise((r) => setTimeout(r, 200));
    const [r, f] = [await snapshot(real, devnm, disks), await snapshot(fake, devnm, disks)];
    const diffs = diff(r, f);
    if (results[0] !== results[1]) {
      diffs.unshift({ attr: "(result)", real: results[0], fake: results[1] });
    }
    out.push({ step: step.name, result: results[0], diffs, real: r });
  }
  emit({ devnm, steps: out });
}

function diff(r: Record<string, string | null>, f: Record<string, string | null>) {
  return Object.keys(r).filter((k) => r[k] !== f[k]).map((k) => ({
    attr: k,
    real: r[k],
    fake: f[k],
  }));
}

if (import.meta.main) {
  if (Deno.args.length !== 2) {
    console.error("usage: kernel_fake_compare.ts DISK DISK");
    Deno.exit(2);
  }
  await main(Deno.args);
}
