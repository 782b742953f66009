/**
 * Prebuilds the VM kernel cache (kernel, modules, initramfs) so that the first VM test does not.
 * Usage: deno run -A tests/vm/harness/build.ts   (cache dir: $MDTS_VM_CACHE or /var/tmp/mdts-vm)
 */
import { ensureKernel } from "./kernel_cache.ts";
import { cacheDir } from "./paths.ts";

if (import.meta.main) {
  const t0 = performance.now();
  try {
    const k = await ensureKernel({ log: (s) => console.log(`vm-cache: ${s}`) });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`vm-cache: ready in ${cacheDir()}: kernel ${k.version} (${secs}s)`);
    console.log(`  kernel: ${k.vmlinuz}\n  initrd: ${k.initrd}`);
  } catch (e) {
    console.error(`vm-cache: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
