/** mdmon's grammar (mdmon 4.2: permuted arguments, usage + exit 2 on any misuse). */
import assert from "node:assert/strict";
import { formatParseError, parseMdmon } from "../../../cli/parse.ts";
import { monitorLog } from "../../../cli/mdmon.ts";

const mon = (extra: Record<string, unknown>) => ({
  ok: true,
  warnings: [],
  command: {
    mode: "monitor",
    all: false,
    takeover: false,
    foreground: false,
    offroot: false,
    ...extra,
  },
});

Deno.test("mdmon CONTAINER with its options, before or after the container", () => {
  assert.deepStrictEqual(parseMdmon(["md127"]), mon({ container: "md127" }));
  assert.deepStrictEqual(
    parseMdmon(["/dev/md/imsm0", "--foreground", "--takeover", "--offroot"]),
    mon({ container: "/dev/md/imsm0", foreground: true, takeover: true, offroot: true }),
  );
  assert.deepStrictEqual(
    parseMdmon(["-tF", "md127"]),
    mon({ container: "md127", takeover: true, foreground: true }),
  );
  assert.deepStrictEqual(parseMdmon(["--", "md127"]), mon({ container: "md127" }));
});

Deno.test("--all, with or without a container; /proc/mdstat means all", () => {
  assert.deepStrictEqual(parseMdmon(["--all"]), mon({ all: true }));
  assert.deepStrictEqual(parseMdmon(["--all", "md127"]), mon({ all: true }));
  assert.deepStrictEqual(
    parseMdmon(["/proc/mdstat", "--takeover"]),
    mon({ all: true, takeover: true }),
  );
});

Deno.test("help and version", () => {
  assert.deepStrictEqual(parseMdmon(["--help"]), {
    ok: true,
    command: { mode: "help" },
    warnings: [],
  });
  assert.deepStrictEqual(parseMdmon(["md127", "-h"]), {
    ok: true,
    command: { mode: "help" },
    warnings: [],
  });
  assert.deepStrictEqual(parseMdmon(["--version"]), {
    ok: true,
    command: { mode: "version" },
    warnings: [],
  });
});

Deno.test("misuse: usage text and exit status 2", () => {
  const usage = "Usage: mdmon [options] CONTAINER\n";
  for (
    const [args, text] of [
      [[], usage],
      [["a", "b"], usage],
      [["--takeover"], usage],
      [["--bogus", "md127"], "mdmon: unrecognized option '--bogus'\n" + usage],
      [["-x", "md127"], "mdmon: invalid option -- 'x'\n" + usage],
    ] as [string[], string][]
  ) {
    const r = parseMdmon(args);
    if (r.ok) throw new Error(`mdmon ${args.join(" ")}: expected usage`);
    assert.equal(r.code, 2);
    assert.equal(formatParseError(r, "mdmon", usage), text);
  }
});

Deno.test("mdmon log: MDTS_MDMON_LOG gets the lines appended; an unwritable log is dropped, not thrown", async () => {
  const dir = await Deno.makeTempDir();
  const errs: string[] = [];
  const io = { out: () => {}, err: (t: string) => errs.push(t) };
  const log = monitorLog(`${dir}/mdmon.log`, io);
  log("md126: array clean");
  log("metadata written (generation 3)");
  assert.equal(
    await Deno.readTextFile(`${dir}/mdmon.log`),
    "mdmon: md126: array clean\nmdmon: metadata written (generation 3)\n",
  );
  assert.deepEqual(errs, [], "nothing on stderr when a log file is given");
  const broken = monitorLog(`${dir}/no/such/dir/mdmon.log`, io);
  broken("still running"); // must not throw
  monitorLog(null, io)("to stderr");
  assert.deepEqual(errs, ["mdmon: to stderr\n"]);
  await Deno.remove(dir, { recursive: true });
});
