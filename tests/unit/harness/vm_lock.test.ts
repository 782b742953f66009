/**
 * The VM lock serves waiters in arrival order: while one process holds it, two more queue;
 * the earlier one gets it next, whatever order the kernel wakes flock waiters in. A ticket
 * left by a dead process does not block the queue.
 */
import assert from "node:assert/strict";

const lockModule = new URL("../../vm/harness/vm_lock.ts", import.meta.url).href;

function holder(cache: string, id: string, holdMs: number): Deno.ChildProcess {
  const code = `
    import { VmLock } from "${lockModule}";
    const lock = await VmLock.acquire("${id}", () => {});
    await Deno.writeTextFile("${cache}/order", "${id}\\n", { append: true });
    await new Promise((r) => setTimeout(r, ${holdMs}));
    lock.release();
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    env: { MDTS_VM_CACHE: cache },
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await sleep(100);
  }
  throw new Error(`${path} never appeared`);
}

async function tickets(cache: string): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(`${cache}/vm.queue`)) n++;
  return n;
}

Deno.test("vm lock: waiters get the lock first come, first served; a dead process's ticket is skipped", async () => {
  const cache = await Deno.makeTempDir();
  await Deno.mkdir(`${cache}/vm.queue`);
  // a ticket older than everyone's, of a process that no longer exists
  await Deno.writeTextFile(`${cache}/vm.queue/000000000000001-999999999`, "");
  const first = holder(cache, "first", 3000);
  await waitForFile(`${cache}/order`);
  const procs = [first];
  for (const [i, id] of ["second", "third", "fourth"].entries()) {
    procs.push(holder(cache, id, 200));
    // each has its ticket before the next starts
    while ((await tickets(cache)) < i + 1) await sleep(50);
  }
  for (const p of procs) {
    const out = await p.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  const order = (await Deno.readTextFile(`${cache}/order`)).trim().split("\n");
  assert.deepEqual(order, ["first", "second", "third", "fourth"]);
  await Deno.remove(cache, { recursive: true });
});

Deno.test("vm lock: hold_vm.ts holds the lock for its whole command, which runs with MDTS_VM_LOCK=0", async () => {
  const cache = await Deno.makeTempDir({ prefix: "mdts-hold-vm-" });
  try {
    const holdVm = new URL("../../vm/harness/hold_vm.ts", import.meta.url).pathname;
    // While the command runs, flock -n on the lock file must fail: the suite holds it.
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        holdVm,
        "bash",
        "-c",
        `echo "lock=$MDTS_VM_LOCK"; flock -n "$MDTS_VM_CACHE/vm.lock" true && echo free || echo held; exit 7`,
      ],
      env: { MDTS_VM_CACHE: cache },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 7, `the command's exit status is passed on: ${out}`);
    assert.equal(out, "lock=0\nheld\n");
    // released afterwards
    const after = await new Deno.Command("flock", {
      args: ["-n", `${cache}/vm.lock`, "true"],
    }).output();
    assert.equal(after.code, 0, "the lock is free after the command");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
