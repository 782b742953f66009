/**
 * Runs a command holding the VM lock for its whole run: `deno run -A hold_vm.ts CMD ARGS...`.
 * A suite of VM test files (`test:vm`) is then one turn in the queue instead of one per file, so
 * other users' runs cannot slot in between its files and stretch it by their length each time.
 * The command runs with MDTS_VM_LOCK=0 (its VMs use the lock held here); exits with its status.
 */
import { VmLock } from "./vm_lock.ts";

if (import.meta.main) {
  const [cmd, ...args] = Deno.args;
  if (!cmd) {
    console.error("usage: hold_vm.ts COMMAND [ARG...]   (runs COMMAND holding the VM lock)");
    Deno.exit(2);
  }
  const lock = await VmLock.acquire(
    `suite: ${Deno.args.join(" ")}`,
    (s) => console.error(`vm: ${s}`),
  );
  let code = 1;
  try {
    // `deno` is this Deno: a task's PATH need not have it.
    const child = new Deno.Command(cmd === "deno" ? Deno.execPath() : cmd, {
      args,
      env: { MDTS_VM_LOCK: "0" },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    code = status.code;
  } finally {
    lock.release();
  }
  Deno.exit(code);
}
