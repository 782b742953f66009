/** The getopt_long work-alike: clusters, attached and separate values, abbreviations, "--". */
import assert from "node:assert/strict";
import { Getopt, type GetoptEvent, type LongOption, shortSpec } from "../../../cli/parse/getopt.ts";

const LONGS: LongOption[] = [
  { name: "raid-disks", arg: "required", key: "n" },
  { name: "raid-devices", arg: "required", key: "n" },
  { name: "run", arg: "none", key: "R" },
  { name: "readonly", arg: "none", key: "o" },
  { name: "write-behind", arg: "optional", key: "wb" },
];
const SHORTS = shortSpec("-n:Rov");

function all(args: string[]): GetoptEvent[] {
  const g = new Getopt(args, LONGS);
  const out: GetoptEvent[] = [];
  for (;;) {
    const ev = g.next(SHORTS);
    if (ev.kind === "end") return out;
    out.push(ev);
  }
}

const opt = (key: string, display: string, long: boolean, arg?: string): GetoptEvent =>
  arg === undefined
    ? { kind: "option", key, display, long }
    : { kind: "option", key, display, long, arg };

Deno.test("short options: clusters, attached and separate values, operands in order", () => {
  assert.deepStrictEqual(all(["-vRn4", "dev", "-n", "-5", "-"]), [
    opt("v", "-v", false),
    opt("R", "-R", false),
    opt("n", "-n", false, "4"),
    { kind: "operand", value: "dev" },
    opt("n", "-n", false, "-5"),
    { kind: "operand", value: "-" },
  ]);
});

Deno.test("long options: =value, next word, unique and same-meaning prefixes", () => {
  assert.deepStrictEqual(all(["--raid-devices=4", "--raid-disks", "5", "--rai=6", "--ru"]), [
    opt("n", "--raid-devices", true, "4"),
    opt("n", "--raid-disks", true, "5"),
    opt("n", "--raid-disks", true, "6"),
    opt("R", "--run", true),
  ]);
});

Deno.test("optional values only with '='", () => {
  assert.deepStrictEqual(all(["--write-behind", "x", "--write-behind=3"]), [
    opt("wb", "--write-behind", true),
    { kind: "operand", value: "x" },
    opt("wb", "--write-behind", true, "3"),
  ]);
});

Deno.test("glibc's error texts", () => {
  assert.deepStrictEqual(all(["--r"]), [{
    kind: "error",
    message: "option '--r' is ambiguous; possibilities: '--raid-disks' '--run' '--readonly'",
  }]);
  assert.deepStrictEqual(all(["--nope=1"]), [{
    kind: "error",
    message: "unrecognized option '--nope=1'",
  }]);
  assert.deepStrictEqual(all(["--run=1"]), [{
    kind: "error",
    message: "option '--run' doesn't allow an argument",
  }]);
  assert.deepStrictEqual(all(["--raid-disks"]), [{
    kind: "error",
    message: "option '--raid-disks' requires an argument",
  }]);
  assert.deepStrictEqual(all(["-x"]), [{ kind: "error", message: "invalid option -- 'x'" }]);
  assert.deepStrictEqual(all(["-n"]), [{
    kind: "error",
    message: "option requires an argument -- 'n'",
  }]);
});

Deno.test("'--' ends the options; what follows is kept aside", () => {
  const g = new Getopt(["-R", "--", "-n", "4"], LONGS);
  assert.deepStrictEqual(g.next(SHORTS), opt("R", "-R", false));
  assert.deepStrictEqual(g.next(SHORTS), { kind: "end" });
  assert.deepStrictEqual(g.afterDashDash, ["-n", "4"]);
});
