/** What the lifecycle modes share: the Host, and turning refusals into mdadm-style output. */
import type { Host } from "../core/lifecycle/host.ts";
import { LinuxHost } from "../core/lifecycle/host_linux.ts";
import { LifecycleError } from "../core/lifecycle/errors.ts";
import { KernelError } from "../kernel/errno.ts";
import type { Io, System } from "./run.ts";

export function hostOf(system: System): Host {
  return system.host?.() ?? new LinuxHost({ env: (k) => system.env(k) });
}

/** Prints each message as "PROG: message" on stderr. */
export function printMessages(io: Io, prog: string, messages: string[]): void {
  for (const m of messages) io.err(`${prog}: ${m}\n`);
}

/** Runs a lifecycle step; refusals and kernel errors become text and an exit status. */
export async function guarded(io: Io, prog: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof LifecycleError) {
      io.err(`${prog}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof KernelError) {
      io.err(`${prog}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
