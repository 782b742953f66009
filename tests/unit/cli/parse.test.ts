/**
 * mdadm grammar: command lines -> typed Commands (expected fields), and command lines -> errors
 * (message and exit code as mdadm 4.2 prints them; the fixture test below checks 250 more against
 * the real mdadm's captured output).
 */
import assert from "node:assert/strict";
import { formatParseError, formatWarnings, parseMdadm } from "../../../cli/parse.ts";
import type { Command } from "../../../cli/command.ts";

type Expect =
  | { ok: Record<string, unknown>; warnings?: string[] }
  | { error: string; code: number; usage?: "hint" };

/** Splits on spaces; '' stands for an empty argument. */
function argv(line: string): string[] {
  return line.split(" ").filter((w) => w !== "").map((w) => (w === "''" ? "" : w));
}

const CTX = { verbose: 0, requireHomehost: true, offroot: false };

const CASES: [string, Expect][] = [
  // --create
  [
    "--create /dev/md/imsm0 -e imsm -n 4 /dev/sda /dev/sdb /dev/sdc /dev/sdd",
    {
      ok: {
        mode: "create",
        ctx: CTX,
        device: "/dev/md/imsm0",
        metadata: "imsm",
        raidDevices: 4,
        members: ["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd"].map((path) => ({
          kind: "device",
          path,
        })),
        run: false,
        force: false,
      },
    },
  ],
  [
    "-C /dev/md/vol0 -l5 -n3 -c 64 -z 1G /dev/md/imsm0 -R",
    {
      ok: {
        mode: "create",
        device: "/dev/md/vol0",
        level: 5,
        raidDevices: 3,
        chunkKiB: 64,
        sizeKiB: 1048576,
        members: [{ kind: "device", path: "/dev/md/imsm0" }],
        run: true,
      },
    },
  ],
  [
    "-C /dev/md/r1 --level=mirror --raid-devices=2 /dev/sda missing --run --force",
    {
      ok: {
        level: 1,
        raidDevices: 2,
        members: [{ kind: "device", path: "/dev/sda" }, { kind: "missing" }],
        run: true,
        force: true,
      },
    },
  ],
  [
    "-C /dev/md/s --level stripe -n 2 --chunk=256K --size=max --name=Vol_0 /dev/md/imsm0",
    { ok: { level: 0, chunkKiB: 256, sizeKiB: "max", name: "Vol_0" } },
  ],
  ["-C /dev/md/t -l raid10 -n 4 -p f2 /dev/md/c", { ok: { level: 10, layout: "f2" } }],
  ["-C /dev/md/t -l raid5 -n 3 -p ls /dev/md/c", { ok: { level: 5, layout: "left-symmetric" } }],
  ["-C /dev/md/t -l container -n 2 -e imsm /dev/a /dev/b", { ok: { level: "container" } }],
  ["-C /dev/md/t -l 5 -n 3 -x 1 -c 1M -z 100000s a b c d", {
    ok: { spareDevices: 1, chunkKiB: 1024, sizeKiB: 50000 },
  }],
  ["-C /dev/md/t -n 3 -l 5 --metadata=1.02 -u 0123456789ABCDEF0123456789abcdef a b c", {
    ok: { metadata: "1.2", uuid: "01234567:89abcdef:01234567:89abcdef" },
  }],
  ["-C /dev/md/t -n1 --force -l0 /dev/sda", { ok: { raidDevices: 1, force: true } }],
  ["-Cv /dev/md/t -vv -q -n 2 -l 1 a b", { ok: { ctx: { ...CTX, verbose: 2 } } }],
  // --assemble
  ["--assemble /dev/md/imsm0 /dev/sda /dev/sdb", {
    ok: {
      mode: "assemble",
      scan: false,
      arrays: ["/dev/md/imsm0"],
      members: ["/dev/sda", "/dev/sdb"],
    },
  }],
  ["-A --scan", { ok: { mode: "assemble", scan: true, arrays: [], members: [] } }],
  ["-As -c /etc/mdadm/mdadm.conf --no-degraded", {
    ok: {
      scan: true,
      start: "no-degraded",
      ctx: { ...CTX, configFile: "/etc/mdadm/mdadm.conf" },
    },
  }],
  ["-A /dev/md/v --uuid=01234567:89abcdef:01234567:89abcdef --name=v --run --readonly", {
    ok: {
      uuid: "01234567:89abcdef:01234567:89abcdef",
      name: "v",
      start: "run",
      readonly: true,
    },
  }],
  ["-A --scan /dev/md/imsm0 /dev/md/vol0", {
    ok: { scan: true, arrays: ["/dev/md/imsm0", "/dev/md/vol0"], members: [] },
  }],
  ["-A /dev/md/x --backup-file=/root/b --update=resync -f", {
    ok: { backupFile: "/root/b", update: "resync", force: true },
  }],
  // --incremental (what udev runs)
  ["--incremental --export /dev/sdb --offroot", {
    ok: {
      mode: "incremental",
      devices: ["/dev/sdb"],
      export: true,
      ctx: { ...CTX, offroot: true },
      run: false,
      remove: false,
    },
  }],
  ["-I -R -s", { ok: { mode: "incremental", run: true, scan: true, devices: [] } }],
  ["-I -r", { ok: { mode: "incremental", rebuildMap: true, devices: [] } }],
  ["-I --rebuild-map /dev/sdc", { ok: { rebuildMap: true, devices: ["/dev/sdc"] } }],
  ["-If sdb --path=pci-0000:00:1f.2-ata-1", {
    ok: { remove: true, devices: ["sdb"], path: "pci-0000:00:1f.2-ata-1" },
  }],
  ["-I --remove sdb", { ok: { remove: true, devices: ["sdb"] } }],
  // --stop
  ["--stop /dev/md/vol0 /dev/md/imsm0", {
    ok: { mode: "stop", devices: ["/dev/md/vol0", "/dev/md/imsm0"], scan: false },
  }],
  ["-Ss", { ok: { mode: "stop", devices: [], scan: true } }],
  ["--stop --scan", { ok: { mode: "stop", scan: true } }],
  // --examine
  ["--examine /dev/sda", {
    ok: {
      mode: "examine",
      devices: ["/dev/sda"],
      brief: false,
      scan: false,
      export: false,
      json: false,
    },
  }],
  ["-Eb /dev/sda /dev/sdb", {
    ok: { mode: "examine", brief: true, devices: ["/dev/sda", "/dev/sdb"] },
  }],
  ["-Es", { ok: { mode: "examine", scan: true, brief: true, devices: [] } }],
  ["-E --scan -vv", { ok: { mode: "examine", scan: true, brief: false } }],
  ["--examine --export /dev/sda", { ok: { mode: "examine", export: true } }],
  ["--examine --json /dev/sda", { ok: { mode: "examine", json: true } }],
  ["-E -e imsm /dev/sda", { ok: { mode: "examine", metadata: "imsm" } }],
  // --detail
  ["--detail /dev/md/vol0", {
    ok: { mode: "detail", devices: ["/dev/md/vol0"], export: false, brief: false, test: false },
  }],
  ["-D --export /dev/md126", { ok: { mode: "detail", export: true } }],
  ["-DY /dev/md126", { ok: { mode: "detail", export: true } }],
  ["--detail --brief /dev/md126", { ok: { mode: "detail", brief: true } }],
  ["-Ds", { ok: { mode: "detail", scan: true, brief: true, devices: [] } }],
  ["-D --test /dev/md126", { ok: { mode: "detail", test: true } }],
  // manage
  ["/dev/md/imsm0 --add /dev/sde", {
    ok: {
      mode: "manage",
      device: "/dev/md/imsm0",
      ops: [{ action: "add", target: { kind: "device", path: "/dev/sde" } }],
    },
  }],
  ["/dev/md0 -a /dev/sde /dev/sdf", {
    ok: {
      ops: [
        { action: "add", target: { kind: "device", path: "/dev/sde" } },
        { action: "add", target: { kind: "device", path: "/dev/sdf" } },
      ],
    },
  }],
  ["/dev/md0 -f /dev/sdb -r /dev/sdb", {
    ok: {
      ops: [
        { action: "fail", target: { kind: "device", path: "/dev/sdb" } },
        { action: "remove", target: { kind: "device", path: "/dev/sdb" } },
      ],
    },
  }],
  ["--manage /dev/md0 --fail /dev/sdb --remove faulty --re-add /dev/sdc", {
    ok: {
      ops: [
        { action: "fail", target: { kind: "device", path: "/dev/sdb" } },
        { action: "remove", target: { kind: "failed" } },
        { action: "re-add", target: { kind: "device", path: "/dev/sdc" } },
      ],
    },
  }],
  ["/dev/md0 --remove detached --set-faulty detached", {
    ok: {
      ops: [
        { action: "remove", target: { kind: "detached" } },
        { action: "fail", target: { kind: "detached" } },
      ],
    },
  }],
  ["--manage /dev/md0 --run", { ok: { mode: "manage", ops: [], runStop: "run" } }],
  // --zero-superblock, --wait
  ["--zero-superblock /dev/sda /dev/sdb", {
    ok: { mode: "zero-superblock", devices: ["/dev/sda", "/dev/sdb"], force: false },
  }],
  ["--zero-superblock -f /dev/sda", { ok: { mode: "zero-superblock", force: true } }],
  ["--wait /dev/md126", { ok: { mode: "wait", devices: ["/dev/md126"] } }],
  ["-W /dev/md126 /dev/md127", { ok: { mode: "wait", devices: ["/dev/md126", "/dev/md127"] } }],
  ["/dev/md127", { ok: { mode: "query", devices: ["/dev/md127"] } }],
  // --grow
  ["--grow /dev/md/imsm0 --raid-devices=4", {
    ok: {
      mode: "grow",
      device: "/dev/md/imsm0",
      action: "reshape",
      raidDevices: 4,
      add: [],
      dryRun: false,
      json: false,
    },
  }],
  ["-G /dev/md/imsm0 -n 5 --backup-file=/root/bk --dry-run --json", {
    ok: { raidDevices: 5, backupFile: "/root/bk", dryRun: true, json: true },
  }],
  ["-G /dev/md/vol0 --level=5", { ok: { action: "reshape", level: 5 } }],
  ["-G /dev/md/vol0 --chunk=256", { ok: { action: "reshape", chunkKiB: 256 } }],
  ["-G /dev/md/vol0 -z max", { ok: { action: "reshape", sizeKiB: "max" } }],
  ["-G /dev/md/vol0 --layout=left-symmetric", { ok: { layout: "left-symmetric" } }],
  ["--grow --continue /dev/md/vol0 --backup-file=/root/bk", {
    ok: { action: "continue", backupFile: "/root/bk" },
  }],
  ["-G /dev/md0 -a /dev/sde", { ok: { action: "add", add: ["/dev/sde"] } }],
  ["-G /dev/md0 -n 4 -a /dev/sde", { ok: { action: "reshape", add: ["/dev/sde"] } }],
  ["-G /dev/md0 --array-size=1G", { ok: { action: "array-size", arraySizeKiB: 1048576 } }],
  ["-G /dev/md0", { ok: { action: "none" }, warnings: ["no changes to --grow"] }],
  // --monitor, version, help
  ["--monitor --scan --oneshot", {
    ok: { mode: "monitor", scan: true, oneshot: true, spareSharing: false },
  }],
  ["-F -r 10 -d 5 -f /dev/md0", {
    ok: { mode: "monitor", increment: 10, delay: 5, daemonise: true, devices: ["/dev/md0"] },
  }],
  ["--version", { ok: { mode: "version" } }],
  ["-C /dev/md0 -V", { ok: { mode: "version" } }],
  ["--help", { ok: { mode: "help", topic: "general" } }],
  ["--create --help", { ok: { mode: "help", topic: "create" } }],
  ["--help --grow", { ok: { mode: "help", topic: "grow" } }],
  ["-E -h", { ok: { mode: "help", topic: "misc" } }],
  ["--help-options", { ok: { mode: "help", topic: "options" } }],
  ["--config --help", { ok: { mode: "help", topic: "config" } }],
  ["-A --update=?", { ok: { mode: "help", topic: "update-options" } }],
  // misc with several actions keeps their order
  ["-D /dev/md0 -S /dev/md1", {
    ok: {
      mode: "misc-sequence",
      steps: [
        {
          mode: "detail",
          ctx: CTX,
          devices: ["/dev/md0"],
          scan: false,
          brief: false,
          export: false,
          test: false,
          noDevices: false,
        },
        { mode: "stop", ctx: CTX, devices: ["/dev/md1"], scan: false },
      ],
    },
  }],
  // options up to "--" only; abbreviations
  ["-E -- /dev/sda", { error: "No devices to examine", code: 2 }],
  ["-C /dev/md0 --raid-dev=3 --lev=5 a b c", { ok: { raidDevices: 3, level: 5 } }],

  // errors: mdadm's text (after "mdadm: ") and exit status
  ["--create /dev/md0 -l 5", { error: "no raid-devices specified.", code: 1 }],
  ["-C /dev/md0 -l 7 -n 3", { error: "invalid raid level: 7", code: 2 }],
  ["-C /dev/md0 -l RAID5 -n 3", { error: "invalid raid level: RAID5", code: 2 }],
  ["--grow", { error: "an md device must be given in this mode", code: 2 }],
  ["--create /dev/md0 --grow", {
    error: '--grow would set mdadm mode to "grow", but it is already set to "create".',
    code: 2,
  }],
  ["-A /dev/md0 -C", {
    error: '-C would set mdadm mode to "create", but it is already set to "assemble".',
    code: 2,
  }],
  ["-C /dev/md0 -n 0", { error: "invalid number of raid devices: 0", code: 2 }],
  ["-C /dev/md0 -n=4", { error: "invalid number of raid devices: =4", code: 2 }],
  ["-C /dev/md0 -c 3", { error: "invalid chunk/rounding value: 3", code: 2 }],
  ["-C /dev/md0 -c 64k", { error: "invalid chunk/rounding value: 64k", code: 2 }],
  ["-C /dev/md0 -z 10k", { error: "invalid size: 10k", code: 2 }],
  ["-C /dev/md0 -e foo", { error: "unrecognised metadata identifier: foo", code: 2 }],
  ["-C /dev/md0 -n", { error: "option requires an argument -- 'n'", code: 2, usage: "hint" }],
  ["--bogus", { error: "unrecognized option '--bogus'", code: 2, usage: "hint" }],
  ["-C /dev/md0 -s", { error: "option -s not valid in create mode", code: 2 }],
  ["-C /dev/md0 --scan", { error: ":option --scan not valid in create mode", code: 2 }],
  ["-G /dev/md0 -e imsm", { error: "option -e not valid in grow mode", code: 2 }],
  ["/dev/md0 /dev/md1", {
    error: "An option must be given to set the mode before a second device\n" +
      "       (/dev/md1) is listed",
    code: 2,
  }],
  ["--scan", {
    error: "--scan does not set the mode, and so cannot be the first option.",
    code: 2,
  }],
  ["/dev/md0 --detail", {
    error: "No action given for /dev/md0 in --misc mode\n" +
      "       Action options must come before device names",
    code: 2,
  }],
  ["-D", { error: "No devices given.", code: 2 }],
  ["-I", { error: "--incremental requires a device.", code: 1 }],
  ["-I --scan", { error: "--incremental --scan meaningless without --run.", code: 1 }],
  ["-C /dev/md0 -n 1 -l 1", {
    error: "'1' is an unusual number of drives for an array, so it is probably\n" +
      "     a mistake.  If you really mean it you will need to specify --force before\n" +
      "     setting the number of drives.",
    code: 2,
  }],
  ["-A /dev/md0 --no-degraded", {
    error: "--no-degraded not meaningful without a --scan assembly.",
    code: 1,
  }],
  ["--manage /dev/md0 /dev/sdb", {
    error: "Must give one of -a/-r/-f for subsequent devices at /dev/sdb",
    code: 2,
  }],
  ["--grow /dev/md0 /dev/sdb", {
    error: "Must give -a/--add for devices to add: /dev/sdb",
    code: 2,
  }],
  ["-D /dev/md0 -E /dev/sda", { error: "--examine/-E cannot be given with -D", code: 2 }],
  ["/dev/md0 -a faulty", { error: "faulty only meaningful with -r or --re-add, not -a", code: 1 }],
  ["/dev/md0 --add detached", { error: "detached only meaningful with -r of -f, not -a", code: 1 }],
  ["-G /dev/md0 -a /dev/sde -c 128", {
    error: "--add cannot be used with other geometry changes in --grow mode",
    code: 1,
  }],
  ["-G /dev/md0 -Z 1G -n 4", {
    error: "cannot change array size in same operation as changing raiddisks or level.\n" +
      "    Change size first, then check that data is still intact.",
    code: 1,
  }],
  ["-C /dev/md0 -l 1 -p ls", { error: "layout not meaningful for raid1 arrays.", code: 2 }],
  ["-A /dev/md0 --re", {
    error: "option '--re' is ambiguous; possibilities: '--restore' '--re-add' '--remove' " +
      "'--replace' '--readonly' '--readwrite' '--rebuild-map'",
    code: 2,
    usage: "hint",
  }],
  ["-E /dev/sda -D --json", { error: "--examine/-E cannot be given with -D", code: 2 }],
  ["-D /dev/md0 --json", { error: "--json only allowed with --examine", code: 2 }],
  ["-C /dev/md0 --dry-run", { error: ":option --dry-run not valid in create mode", code: 2 }],
  ["", { error: "", code: 2, usage: "hint" }],
];

/** True when every field of `want` deep-equals the same field of `got`. */
function assertFields(got: Command, want: Record<string, unknown>, line: string): void {
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(want)) picked[k] = (got as unknown as Record<string, unknown>)[k];
  assert.deepStrictEqual(picked, want, `fields of: mdadm ${line}`);
}

Deno.test("mdadm command table: at least 60 command lines, each form parsed", () => {
  let oks = 0, errors = 0;
  for (const [line, expect] of CASES) {
    const r = parseMdadm(argv(line));
    if ("ok" in expect) {
      if (!r.ok) throw new Error(`mdadm ${line}: unexpected error ${r.code}: ${r.message}`);
      assertFields(r.command, expect.ok, line);
      assert.deepStrictEqual(r.warnings, expect.warnings ?? [], `warnings of: mdadm ${line}`);
      oks++;
    } else {
      if (r.ok) throw new Error(`mdadm ${line}: expected an error, got ${r.command.mode}`);
      assert.deepStrictEqual(
        { message: r.message, code: r.code, usage: r.usage },
        { message: expect.error, code: expect.code, usage: expect.usage },
        `mdadm ${line}`,
      );
      errors++;
    }
  }
  assert.deepStrictEqual(oks + errors >= 60, true);
  assert.deepStrictEqual(oks >= 30 && errors >= 30, true);
});

Deno.test("a created command carries exactly the given options and no stray fields", () => {
  const r = parseMdadm(argv("-C /dev/md/vol0 -l 5 -n 3 -c 64 /dev/md/imsm0"));
  assert.deepStrictEqual(r, {
    ok: true,
    warnings: [],
    command: {
      mode: "create",
      ctx: CTX,
      device: "/dev/md/vol0",
      members: [{ kind: "device", path: "/dev/md/imsm0" }],
      level: 5,
      raidDevices: 3,
      chunkKiB: 64,
      run: false,
      force: false,
      readonly: false,
      assumeClean: false,
    },
  });
});

Deno.test("-r is --remove in manage mode (the 4.2 -r regression is not reproduced)", () => {
  const r = parseMdadm(argv("/dev/md0 -r /dev/sdb"));
  if (!r.ok || r.command.mode !== "manage") throw new Error("expected manage");
  assert.deepStrictEqual(r.command.ops, [{
    action: "remove",
    target: { kind: "device", path: "/dev/sdb" },
  }]);
});

Deno.test("write-mostly and failfast apply to the devices after them", () => {
  const r = parseMdadm(argv("/dev/md0 -a /dev/sdb --write-mostly --failfast /dev/sdc"));
  if (!r.ok || r.command.mode !== "manage") throw new Error("expected manage");
  assert.deepStrictEqual(r.command.ops, [
    { action: "add", target: { kind: "device", path: "/dev/sdb" } },
    {
      action: "add",
      target: { kind: "device", path: "/dev/sdc" },
      writeMostly: true,
      failFast: true,
    },
  ]);
});

Deno.test("warnings printed while parsing come back with the command or the error", () => {
  const r = parseMdadm(argv("-F -m a -m b"));
  if (r.ok) throw new Error("expected an error");
  assert.deepStrictEqual(
    formatParseError(r, "mdadm"),
    "mdadm: only specify one mailaddress. b ignored.\n" +
      "mdadm: Cannot monitor: need --scan or at least one device\n",
  );
  const w = parseMdadm(argv("-I --no-degraded /dev/sdb"));
  if (!w.ok) throw new Error("expected a command");
  assert.deepStrictEqual(
    formatWarnings(w.warnings, "mdts"),
    "mdts: --no-degraded is deprecated in Incremental mode\n",
  );
});

Deno.test("errors are formatted with the personality's name", () => {
  const r = parseMdadm(argv("--bogus"));
  if (r.ok) throw new Error("expected an error");
  assert.deepStrictEqual(
    formatParseError(r, "mdts"),
    "mdts: unrecognized option '--bogus'\nUsage: mdts --help\n  for help\n",
  );
  const none = parseMdadm([]);
  if (none.ok) throw new Error("expected an error");
  assert.deepStrictEqual(formatParseError(none, "mdadm"), "Usage: mdadm --help\n  for help\n");
});
