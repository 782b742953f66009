/** mdts entry point: one executable for mdts, mdadm (drop-in) and mdmon (the monitor). */
import { main } from "./cli/main.ts";
import { invokedName } from "./cli/personality.ts";
import type { Kernel } from "./kernel/interface.ts";
import { LinuxKernel } from "./kernel/real.ts";

function readCmdline(): string | null {
  try {
    return Deno.readTextFileSync("/proc/self/cmdline");
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const name = invokedName((k) => Deno.env.get(k), readCmdline, Deno.execPath());
  const enc = new TextEncoder();
  let kernel: Kernel | null = null;
  const code = await main(name, Deno.args, {
    out: (t) => Deno.stdout.writeSync(enc.encode(t)),
    err: (t) => Deno.stderr.writeSync(enc.encode(t)),
  }, {
    kernel: () => kernel ??= new LinuxKernel(),
    env: (k) => Deno.env.get(k),
  });
  Deno.exit(code);
}
