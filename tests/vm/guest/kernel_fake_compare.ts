/**
 * Guest-side probe: replays one sequence of sysfs operations on the real kernel and on the
 * FakeKernel, reading the same attributes after every step, and prints the differences as JSON.
 *
 *   kernel_fake_compare.ts raid1 vdb vdc
 *   kernel_fake_compare.ts reshape vdb vdc vdd vde
 */
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import type { Kernel } from "../../../kernel/interface.ts";
import { LinuxKernel } from "../../../kernel/real.ts";
import { parseMdstat } from "../../../kernel/md/mdstat.ts";
import { retryWhileBusy } from "../../../kernel/md/busy.ts";
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

type Read = (attr: string) => Promise<string | null>;

export type Step = {
  name: string;
  /** A string result is reported with the step's "ok" (e.g. what a settle had to do). */
  run: (k: Kernel, devnm: string) => Promise<unknown>;
  /** The real kernel moves on by itself after this step: compare at the next settle. */
  racy?: boolean;
  /**
   * The kernel finishes this step in its md thread or a workqueue, after the write returned:
   * the comparison waits (on both kernels, 30 s at most) until this holds.
   */
  until?: { what: string; holds: (read: Read) => Promise<boolean> };
};

/** Reads an md attribute; EBUSY (an md device going away) reads as "busy". */
function reader(k: Kernel, devnm: string): Read {
  return (a) =>
    k.md.read(devnm, a).catch((e) => {
      if (e.code === "EBUSY") return "busy";
      throw e;
    });
}

async function waitUntil(label: string, holds: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await holds()) {
    if (Date.now() > deadline) throw new Error(`${label}: not reached in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const w = (attr: string, value: string): Step => ({
  name: `${attr} <- ${JSON.stringify(value)}`,
  run: (k, devnm) => k.md.write(devnm, attr, value),
});

const addDisk = (d: string): Step => ({
  name: `new_dev <- ${d}`,
  run: async (k, devnm) => {
    await k.md.write(devnm, "new_dev", (await k.md.blockDevNumber(d))!);
  },
});

/** raid1 life cycle: build, start, freeze, fail a member the way mdmon handles it, stop. */
function raid1Steps(disks: string[]): Step[] {
  return [
    w("metadata_version", "external:mdts-probe"),
    w("level", "raid1"),
    w("raid_disks", "2"),
    w("chunk_size", "65536"),
    w("component_size", "16384"),
    w("resync_start", "18446744073709551615"),
    ...disks.flatMap((d, slot) => [
      addDisk(d),
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
    { ...w("sync_action", "check"), racy: true },
    // the check's end raises a superblock update: answered, the array is clean as before
    settle("check done", async (r) => await r("sync_action") === "idle"),
    {
      ...w(`dev-${disks[1]}/state`, "faulty"),
      // md_error flags a recovery (sync_action reads recover) until the md thread has looked
      until: { what: "md thread done", holds: async (r) => await r("sync_action") === "idle" },
    },
    {
      ...w(`dev-${disks[1]}/state`, "-blocked"),
      // the md thread detaches the unblocked failed device
      until: { what: "detached", holds: async (r) => await r(`dev-${disks[1]}/slot`) === "none" },
    },
    w(`dev-${disks[1]}/slot`, "none"),
    w(`dev-${disks[1]}/state`, "remove"),
    // mdmon's answer to the failure's write-pending: the array was clean and stays clean
    w("array_state", "active"),
    stop("inactive"),
    stop("clear"),
  ];
}

/**
 * array_state <- inactive / clear. udev's blkid opens the md device for a moment after each
 * change uevent (start, array_size): md refuses a stop meanwhile with EBUSY, so the write is
 * retried while busy, as mdts's own stop does (MdArray.stop). After clear the md device goes
 * away in a workqueue (its attributes read EBUSY meanwhile).
 */
function stop(state: "inactive" | "clear"): Step {
  return {
    name: `array_state <- ${JSON.stringify(state)}`,
    run: (k, devnm) => retryWhileBusy(() => k.md.write(devnm, "array_state", state), 5000),
    until: state === "clear"
      ? { what: "gone", holds: async (r) => await r("array_state") === null }
      : undefined,
  };
}

/**
 * Lets the kernel work until `done` holds (30 s at most), standing in for mdmon: an array that
 * waits in write-pending is marked active. The fake's sync thread is moved by advanceSync.
 * `done` is read before array_state, and the settle ends only when array_state is not
 * write-pending after `done` held: md raises its update (write-pending) before a sync reads
 * idle, so a state read taken before `done` could miss it. The result says whether the
 * write-pending was answered, so the fake must go write-pending where the kernel does.
 */
function settle(label: string, done: (read: Read) => Promise<boolean>): Step {
  return {
    name: `(settle: ${label})`,
    run: async (k, devnm) => {
      const read = reader(k, devnm);
      let answered = 0;
      await waitUntil(`settle ${label}`, async () => {
        if (k instanceof FakeKernel) k.md.advanceSync(devnm, 1n << 40n);
        const finished = await done(read);
        if (await read("array_state") !== "write-pending") return finished;
        await k.md.write(devnm, "array_state", "active");
        answered++;
        return false;
      });
      return answered ? `write-pending answered ${answered}x` : undefined;
    },
  };
}

/** raid5 3 -> 4 disks, checkpointed with sync_max like the grow child. */
function reshapeSteps(disks: string[]): Step[] {
  const [a, b, c, d] = disks;
  return [
    w("metadata_version", "external:/md99/0"),
    w("level", "raid5"),
    w("raid_disks", "3"),
    w("chunk_size", "65536"),
    w("layout", "0"),
    w("component_size", "16384"),
    w("array_size", "32768"),
    w("resync_start", "18446744073709551615"),
    ...[a, b, c].flatMap((x, slot) => [
      addDisk(x),
      w(`dev-${x}/offset`, "0"),
      w(`dev-${x}/size`, "16384"),
      w(`dev-${x}/slot`, String(slot)),
    ]),
    w("array_state", "readonly"),
    w("safe_mode_delay", "4.000\n"),
    w("array_state", "active"),
    addDisk(d),
    w(`dev-${d}/offset`, "0"),
    w(`dev-${d}/size`, "16384"),
    w("metadata_version", "external:-md99/0"),
    w("sync_action", "frozen"),
    {
      // blocks in md_allow_write until "active" is written: our stand-in for mdmon does it
      name: "raid_disks <- 4 (write-pending answered with active)",
      run: (k, devnm) =>
        k.array(devnm).setRaidDisks(4, {
          onWritePending: () => k.md.write(devnm, "array_state", "active"),
        }),
    },
    w(`dev-${d}/slot`, "3"),
    w("sync_min", "0"),
    w("sync_max", "2048"),
    w("suspend_lo", "0"),
    w("suspend_hi", "6144"),
    { ...w("sync_action", "reshape"), racy: true },
    settle(
      "reshape reaches sync_max",
      async (r) => (await r("sync_completed"))?.startsWith("2048 /") ?? false,
    ),
    w("suspend_lo", "9223372036854775807"),
    w("suspend_hi", "0"),
    w("suspend_lo", "0"),
    { ...w("sync_max", "max"), racy: true },
    settle(
      "reshape done",
      async (r) => await r("sync_action") === "idle" && await r("reshape_position") === "none",
    ),
    w("array_size", "49152"),
    w("metadata_version", "external:/md99/0"),
    w("sync_action", "idle"),
    w("array_state", "clean"),
    stop("inactive"),
    stop("clear"),
  ];
}

export const SCENARIOS: Record<string, { disks: number; steps: (disks: string[]) => Step[] }> = {
  raid1: { disks: 2, steps: raid1Steps },
  reshape: { disks: 4, steps: reshapeSteps },
};

export async function snapshot(k: Kernel, devnm: string, disks: string[]) {
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

async function main(scenario: string, disks: string[]) {
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
  for (const step of SCENARIOS[scenario].steps(disks)) {
    const results = [];
    for (const k of [real, fake]) {
      results.push(await runStep(step, k, devnm));
    }
    const [r, f] = [await snapshot(real, devnm, disks), await snapshot(fake, devnm, disks)];
    const diffs = step.racy ? [] : diff(r, f);
    if (results[0] !== results[1]) {
      diffs.unshift({ attr: "(result)", real: results[0], fake: results[1] });
    }
    out.push({ step: step.name, result: results[0], diffs, real: r });
  }
  emit({ scenario, devnm, steps: out });
}

/** Runs one step on one kernel, waiting for its `until`; "ok", "ok: <what it did>" or "error X". */
export async function runStep(step: Step, k: Kernel, devnm: string): Promise<string> {
  try {
    const said = await step.run(k, devnm);
    if (step.until) {
      const read = reader(k, devnm);
      await waitUntil(`${step.name}: ${step.until.what}`, () => step.until!.holds(read));
    }
    return typeof said === "string" ? `ok: ${said}` : "ok";
  } catch (e) {
    return `error ${(e as { code?: string }).code ?? (e as Error).message}`;
  }
}

export function diff(r: Record<string, string | null>, f: Record<string, string | null>) {
  return Object.keys(r).filter((k) => r[k] !== f[k]).map((k) => ({
    attr: k,
    real: r[k],
    fake: f[k],
  }));
}

if (import.meta.main) {
  const [scenario, ...disks] = Deno.args;
  if (!SCENARIOS[scenario] || disks.length !== SCENARIOS[scenario].disks) {
    console.error("usage: kernel_fake_compare.ts raid1 DISK DISK | reshape DISK DISK DISK DISK");
    Deno.exit(2);
  }
  await main(scenario, disks);
}
