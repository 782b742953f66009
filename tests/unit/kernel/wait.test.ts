// PollWatcher needs FFI (poll); run with --allow-ffi.
import assert from "node:assert/strict";
import { PollWatcher } from "../../../kernel/md/wait.ts";

Deno.test("poll runs off the event loop: timers fire while a watcher waits", async () => {
  // A regular file never signals POLLPRI, so the wait ends by its timeout.
  const p = await Deno.makeTempFile({ dir: "/var/tmp", prefix: "mdts-poll-" });
  await Deno.writeTextFile(p, "clean\n");
  const w = new PollWatcher(new Map([["array_state", p], ["missing", `${p}.absent`]]));
  try {
    assert.deepEqual(w.keys, ["array_state"], "missing files are skipped");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    const r = await w.wait(300);
    clearInterval(timer);
    assert.ok(Date.now() - t0 >= 250, "waited for the timeout");
    assert.ok(ticks >= 5, `event loop ran during poll (${ticks} ticks)`);
    assert.equal(r.timedOut, true);
    assert.deepEqual(r.changed, []);
    assert.equal(r.values.get("array_state"), "clean");
    await Deno.writeTextFile(p, "active\n");
    const r2 = await w.wait(10);
    assert.deepEqual(r2.changed, ["array_state"], "re-read after every wake-up");
    assert.equal(r2.values.get("array_state"), "active");
  } finally {
    w.close();
    await Deno.remove(p);
  }
});
