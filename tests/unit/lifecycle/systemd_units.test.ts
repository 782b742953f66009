/**
 * The systemd units shipped in systemd/ run what mdts itself runs: the grow-continue unit's
 * command line is the one assembly starts without systemd (growContinueCommand), the
 * monitor unit's is mdmon's, and the unit name is the one assembly restarts.
 */
import assert from "node:assert/strict";
import { growContinueCommand } from "../../../core/lifecycle/host_linux.ts";

const dir = new URL("../../../systemd/", import.meta.url);

function execStart(text: string): string[] {
  const line = text.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, "no ExecStart");
  return line.slice("ExecStart=".length).split(/\s+/);
}

Deno.test("systemd: mdts-grow-continue@ runs --grow --continue /dev/%I like the background child", async () => {
  const text = await Deno.readTextFile(new URL("mdts-grow-continue@.service", dir));
  const argv = execStart(text);
  const child = growContinueCommand("%I", () => undefined, "/usr/sbin/mdts", "file:///x");
  assert.deepEqual(argv, child);
  const src = await Deno.readTextFile(new URL("../core/lifecycle/host_linux.ts", dir));
  assert.match(src, /mdts-grow-continue@\$\{container\}\.service/);
  assert.match(text, /^StandardInput=null$/m);
});

Deno.test("systemd: mdts-mdmon@ runs the monitor in the foreground, offroot, for /dev/%I", async () => {
  const text = await Deno.readTextFile(new URL("mdts-mdmon@.service", dir));
  assert.deepEqual(execStart(text), ["/usr/sbin/mdts", "mdmon", "--foreground", "--offroot", "%I"]);
  assert.match(text, /^Conflicts=mdmon@%i\.service$/m);
});
