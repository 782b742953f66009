/** Where the VM harness keeps things: the repository, the kernel cache, the run work dirs. */
import { fileURLToPath } from "node:url";

/** The repository this harness belongs to (the guest sees it at the same path). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../../", import.meta.url)).replace(
  /\/$/,
  "",
);

/** Guest-side scripts, read by the initramfs build (init.sh) and by the booted guest (agent.sh). */
export const GUEST_INIT_SCRIPT = `${REPO_ROOT}/tests/vm/guest/init.sh`;
export const GUEST_AGENT_SCRIPT = `${REPO_ROOT}/tests/vm/guest/agent.sh`;

/** Env var naming the cache dir (kernel, modules, initramfs, run work dirs). */
export const CACHE_ENV = "MDTS_VM_CACHE";
export const DEFAULT_CACHE_DIR = "/var/tmp/mdts-vm";

export function cacheDir(): string {
  return Deno.env.get(CACHE_ENV) || DEFAULT_CACHE_DIR;
}

/** Work dirs made for VMs that were not given one; pruned when old. */
export function workRoot(): string {
  return `${cacheDir()}/work`;
}
