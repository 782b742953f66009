/**
 * Starting the monitor in the background: the launcher waits while the started process lives
 * and is not ready yet (a Deno start on a loaded machine can take longer than any fixed
 * guess), succeeds once its pid file and socket exist, and reports a monitor that exited or
 * that stays alive without becoming ready. The "monitor" here is a bash script that behaves
 * like one (writes its pid and creates its socket path after a delay).
 */
import assert from "node:assert/strict";
import { MONITOR_READY_MS, startBackground } from "../../../core/monitor/launch.ts";

const opts = { container: "md127", offroot: false, takeover: false, logFile: null };

async function withRunDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A monitor that takes `delay` seconds to start, then is ready and stays up until killed. */
function slowMonitor(dir: string, delay: number): string[] {
  return [
    "bash",
    "-c",
    `sleep ${delay}; echo $$ > ${dir}/md127.pid; : > ${dir}/md127.sock; exec sleep 30`,
  ];
}

function kill(dir: string): void {
  const pid = Number(Deno.readTextFileSync(`${dir}/md127.pid`).trim());
  Deno.kill(pid, "SIGKILL");
}

Deno.test("monitor launch: a slow but live monitor is waited for until it is ready", async () => {
  // the old fixed limit was 15 s; the default now leaves a loaded machine minutes
  assert.ok(MONITOR_READY_MS >= 120_000);
  await withRunDir(async (dir) => {
    assert.equal(await startBackground(opts, dir, slowMonitor(dir, 1.5), 60_000), null);
    kill(dir);
  });
});

Deno.test("monitor launch: an exited monitor and a hung one are reported", async () => {
  await withRunDir(async (dir) => {
    assert.equal(
      await startBackground(opts, dir, ["bash", "-c", "sleep 0.2; exit 3"], 60_000),
      "the monitor exited with status 3 before it was ready",
    );
    const err = await startBackground(opts, dir, ["bash", "-c", "exec sleep 30"], 800);
    assert.match(
      err ?? "",
      new RegExp(
        `the monitor \\(pid \\d+\\) runs but did not create ${dir}/md127\\.pid and its ` +
          `socket within 0\\.8 s`,
      ),
    );
    const pid = Number(/pid (\d+)/.exec(err!)![1]);
    Deno.kill(pid, "SIGKILL");
  });
});
