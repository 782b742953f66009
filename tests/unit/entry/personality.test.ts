import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { choosePersonality, invokedName } from "../../../cli/personality.ts";
import { main } from "../../../cli/main.ts";

Deno.test("invoked name: MDTS_ARGV0 from the launcher wins, then argv[0], then the exec path", () => {
  const env = (v: string | undefined) => (k: string) => k === "MDTS_ARGV0" ? v : undefined;
  assertEquals(invokedName(env("/usr/sbin/mdadm"), () => "mdts\0-E\0", "/x/deno"), "mdadm");
  assertEquals(invokedName(env(undefined), () => "/sbin/mdmon\0--all\0", "/x/mdts"), "mdmon");
  assertEquals(invokedName(env(undefined), () => null, "/opt/mdts/bin/mdts"), "mdts");
});

Deno.test("personality: by name, then by a leading mdmon/mdadm word", () => {
  assertEquals(choosePersonality("mdadm", ["-E", "/dev/vda"]), {
    personality: "mdadm",
    args: ["-E", "/dev/vda"],
  });
  assertEquals(choosePersonality("mdmon", ["md127"]), { personality: "mdmon", args: ["md127"] });
  assertEquals(choosePersonality("mdts", ["mdmon", "--takeover", "md127"]), {
    personality: "mdmon",
    args: ["--takeover", "md127"],
  });
  assertEquals(choosePersonality("mdts", ["--grow", "/dev/md/imsm0"]), {
    personality: "mdts",
    args: ["--grow", "/dev/md/imsm0"],
  });
});

Deno.test("--version: mdts on stdout; mdadm and mdmon print mdadm 4.2's form on stderr", async () => {
  for (
    const [name, args, stream, prefix] of [
      ["mdts", ["--version"], "out", "mdts - v"],
      ["mdadm", ["--version"], "err", "mdadm - v4.2 - 2021-12-30"],
      ["mdadm", ["-V"], "err", "mdadm - v4.2 - 2021-12-30"],
      ["mdts", ["mdmon", "--version"], "err", "mdmon - v4.2 - 2021-12-30"],
    ] as const
  ) {
    const got = { out: "", err: "" };
    const code = await main(name, [...args], {
      out: (t) => got.out += t,
      err: (t) => got.err += t,
    });
    assertEquals(code, 0);
    assertEquals(got[stream].startsWith(prefix), true, `${name} ${args}: ${JSON.stringify(got)}`);
    assertEquals(got[stream === "out" ? "err" : "out"], "");
  }
});
