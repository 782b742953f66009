/**
 * The guest kernel cache: Debian's distribution kernel (md built as modules), the few modules the
 * tests need and a busybox initramfs that loads them. Built from the Debian package without
 * installing it; keyed by kernel version so a new Debian kernel replaces the old cache.
 *
 * Layout: <cache>/kernel-<version>/{vmlinuz, modules/*.ko, modules.list, kernel.done,
 * initrd.img, initrd.key}
 */
import { createHash } from "node:crypto";
import { cacheDir, GUEST_INIT_SCRIPT } from "./paths.ts";
import { hostCommand, whichProgram } from "./host_command.ts";

/** Modules the guest loads (with their dependencies, resolved by modprobe). */
export const GUEST_MODULES = [
  "md-mod",
  "raid0",
  "raid1",
  "raid10",
  "raid456",
  "loop",
  "virtio_pci",
  "virtio_blk",
  "9pnet_virtio",
  "9p",
];

/** Debian meta package whose dependency names the current kernel image package. */
const META_PACKAGE = "linux-image-amd64";
/** Env var that pins the kernel image package (e.g. linux-image-6.1.0-56-amd64). */
export const KERNEL_PACKAGE_ENV = "MDTS_VM_KERNEL_PACKAGE";
const BUSYBOX = "/bin/busybox";

export interface KernelArtifacts {
  version: string;
  dir: string;
  vmlinuz: string;
  initrd: string;
}

export const KERNEL_HOWTO = "Get the tools with: apt-get install -y --no-install-recommends " +
  "qemu-system-x86 busybox-static kmod cpio; then build the cache with: " +
  "deno run -A tests/vm/harness/build.ts (needs apt access to download " + META_PACKAGE + ")";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The kernel image package apt would install now, or null when apt cannot tell. */
export async function resolveKernelPackage(): Promise<string | null> {
  const pinned = Deno.env.get(KERNEL_PACKAGE_ENV);
  if (pinned) return pinned;
  if (!whichProgram("apt-cache")) return null;
  const res = await hostCommand("apt-cache", ["depends", META_PACKAGE], { allowFail: true });
  const m = res.stdout.match(/Depends:\s*(linux-image-[0-9][^\s]*)/);
  return m ? m[1] : null;
}

function kernelDir(version: string): string {
  return `${cacheDir()}/kernel-${version}`;
}

/** Complete kernel dirs present in the cache, newest first. */
function cachedVersions(): string[] {
  const found: { v: string; t: number }[] = [];
  try {
    for (const e of Deno.readDirSync(cacheDir())) {
      if (!e.isDirectory || !e.name.startsWith("kernel-") || e.name.includes(".tmp")) continue;
      const dir = `${cacheDir()}/${e.name}`;
      if (!exists(`${dir}/kernel.done`)) continue;
      found.push({
        v: e.name.slice("kernel-".length),
        t: Deno.statSync(dir).mtime?.getTime() ?? 0,
      });
    }
  } catch {
    // no cache dir yet
  }
  return found.sort((a, b) => b.t - a.t).map((f) => f.v);
}

/** Which kernel version to use: the one apt names, else the newest cached one. */
async function chooseVersion(): Promise<{ version: string; pkg: string | null }> {
  const pkg = await resolveKernelPackage();
  if (pkg) return { version: pkg.slice("linux-image-".length), pkg };
  const cached = cachedVersions();
  if (cached.length > 0) return { version: cached[0], pkg: null };
  throw new Error(
    `cannot tell which kernel to use: apt-cache does not resolve ${META_PACKAGE} and the cache ` +
      `${cacheDir()} holds no kernel. Set ${KERNEL_PACKAGE_ENV} or run apt-get update. ${KERNEL_HOWTO}`,
  );
}

async function downloadPackage(pkg: string, into: string, log: (s: string) => void) {
  const args = ["-o", "APT::Sandbox::User=root", "download", pkg];
  let res = await hostCommand("apt-get", args, { cwd: into, allowFail: true });
  if (res.code !== 0 && Deno.uid() === 0) {
    log(`apt-get download ${pkg} failed; running apt-get update and retrying`);
    await hostCommand("apt-get", ["update"], { allowFail: true });
    res = await hostCommand("apt-get", args, { cwd: into, allowFail: true });
  }
  if (res.code !== 0) {
    throw new Error(`apt-get download ${pkg} failed (exit ${res.code}): ${res.stderr.trim()}`);
  }
  const deb = [...Deno.readDirSync(into)].find((e) => e.name.endsWith(".deb"));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb in ${into}`);
  return `${into}/${deb.name}`;
}

/** modprobe --show-depends lines "insmod PATH [params]" -> ordered unique {path, params}. */
export function parseShowDepends(text: string): { path: string; params: string }[] {
  const seen = new Set<string>();
  const out: { path: string; params: string }[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^insmod\s+(\S+)\s*(.*)$/);
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    out.push({ path: m[1], params: m[2].trim() });
  }
  return out;
}

/** Downloads and unpacks the kernel package; keeps vmlinuz and the needed modules. */
async function buildKernelDir(version: string, pkg: string, log: (s: string) => void) {
  for (const tool of ["apt-get", "dpkg", "depmod", "modprobe"]) {
    if (!whichProgram(tool)) throw new Error(`${tool} is missing. ${KERNEL_HOWTO}`);
  }
  const final = kernelDir(version);
  // Per-process names: other test processes may build at the same time; the rename decides.
  const tmp = `${final}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${tmp}/download`, { recursive: true });
  log(`downloading ${pkg}`);
  const deb = await downloadPackage(pkg, `${tmp}/download`, log);
  const root = `${tmp}/root`;
  log(`unpacking ${deb}`);
  await hostCommand("dpkg", ["-x", deb, root]);
  if (!exists(`${root}/lib/modules/${version}`)) {
    throw new Error(`${deb} has no lib/modules/${version}; is ${pkg} a kernel image package?`);
  }
  await hostCommand("depmod", ["-b", root, version]);
  let depText = "";
  for (const mod of GUEST_MODULES) {
    const res = await hostCommand("modprobe", ["-d", root, "-S", version, "--show-depends", mod]);
    depText += res.stdout;
  }
  const mods = parseShowDepends(depText);
  await Deno.mkdir(`${tmp}/modules`);
  const list: string[] = [];
  for (const m of mods) {
    const base = m.path.split("/").pop()!;
    if (!base.endsWith(".ko")) {
      throw new Error(
        `module ${m.path} is not a plain .ko (compressed?); busybox insmod needs .ko`,
      );
    }
    await Deno.copyFile(m.path, `${tmp}/modules/${base}`);
    list.push(m.params ? `${base} ${m.params}` : base);
  }
  await Deno.writeTextFile(`${tmp}/modules.list`, list.join("\n") + "\n");
  await Deno.copyFile(`${root}/boot/vmlinuz-${version}`, `${tmp}/vmlinuz`);
  await Deno.remove(`${tmp}/download`, { recursive: true });
  await Deno.remove(root, { recursive: true });
  await Deno.writeTextFile(`${tmp}/kernel.done`, `${pkg}\n`);
  if (exists(`${final}/kernel.done`)) {
    await Deno.remove(tmp, { recursive: true }); // another process finished first
  } else {
    await Deno.remove(final, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, final);
  }
  log(`kernel ${version}: ${mods.length} modules kept in ${final}`);
}

/** What the initramfs depends on; a change in any of it rebuilds the initramfs. */
function initrdKey(dir: string): string {
  const h = createHash("sha256");
  h.update(Deno.readFileSync(GUEST_INIT_SCRIPT));
  h.update(Deno.readFileSync(`${dir}/modules.list`));
  const bb = Deno.statSync(BUSYBOX);
  h.update(`${bb.size}:${bb.mtime?.getTime()}`);
  return h.digest("hex");
}

async function buildInitrd(dir: string, log: (s: string) => void) {
  if (!exists(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing (package busybox-static). ${KERNEL_HOWTO}`);
  }
  if (!whichProgram("cpio")) throw new Error(`cpio is missing. ${KERNEL_HOWTO}`);
  const stage = `${dir}/initrd.stage-${Deno.pid}`;
  await Deno.remove(stage, { recursive: true }).catch(() => {});
  for (const d of ["bin", "dev", "proc", "sys", "newroot", "lib/modules"]) {
    await Deno.mkdir(`${stage}/${d}`, { recursive: true });
  }
  await Deno.copyFile(BUSYBOX, `${stage}/bin/busybox`);
  await Deno.chmod(`${stage}/bin/busybox`, 0o755);
  await Deno.copyFile(GUEST_INIT_SCRIPT, `${stage}/init`);
  await Deno.chmod(`${stage}/init`, 0o755);
  await Deno.copyFile(`${dir}/modules.list`, `${stage}/modules.list`);
  for (const e of Deno.readDirSync(`${dir}/modules`)) {
    await Deno.copyFile(`${dir}/modules/${e.name}`, `${stage}/lib/modules/${e.name}`);
  }
  // The kernel opens /dev/console before init runs; without the node init starts with no stdio
  // (init.sh re-opens it after mounting devtmpfs, so failing here, e.g. not root, is harmless).
  await hostCommand("mknod", ["-m", "600", `${stage}/dev/console`, "c", "5", "1"], {
    allowFail: true,
  });
  const key = initrdKey(dir);
  await hostCommand("bash", [
    "-c",
    `set -o pipefail; cd "$1" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet | gzip -1 >"$2"`,
    "mkinitrd",
    stage,
    `${dir}/initrd.img.tmp-${Deno.pid}`,
  ]);
  await Deno.rename(`${dir}/initrd.img.tmp-${Deno.pid}`, `${dir}/initrd.img`);
  await Deno.writeTextFile(`${dir}/initrd.key.tmp-${Deno.pid}`, key + "\n");
  await Deno.rename(`${dir}/initrd.key.tmp-${Deno.pid}`, `${dir}/initrd.key`);
  await Deno.remove(stage, { recursive: true });
  log(`initramfs built: ${dir}/initrd.img`);
}

/** Removes cached kernels other than `keep` (a stale cache is replaced, not accumulated). */
async function pruneOtherKernels(keep: string, log: (s: string) => void) {
  for (const e of Deno.readDirSync(cacheDir())) {
    if (
      e.isDirectory && e.name.startsWith("kernel-") && e.name !== `kernel-${keep}` &&
      !e.name.includes(".tmp")
    ) {
      log(`removing stale ${cacheDir()}/${e.name}`);
      await Deno.remove(`${cacheDir()}/${e.name}`, { recursive: true });
    }
  }
}

/**
 * The kernel and initramfs to boot, building whatever is missing or stale.
 * `build: false` only looks, and fails with how-to text when something is missing.
 */
export async function ensureKernel(
  opts: { build?: boolean; log?: (s: string) => void } = {},
): Promise<KernelArtifacts> {
  const log = opts.log ?? ((s: string) => console.error(`vm-cache: ${s}`));
  const build = opts.build ?? true;
  const { version, pkg } = await chooseVersion();
  const dir = kernelDir(version);
  await Deno.mkdir(cacheDir(), { recursive: true });
  if (!exists(`${dir}/kernel.done`)) {
    if (!build || !pkg) {
      throw new Error(`kernel ${version} is not in the cache ${cacheDir()}. ${KERNEL_HOWTO}`);
    }
    await buildKernelDir(version, pkg, log);
  }
  let key = "";
  try {
    key = Deno.readTextFileSync(`${dir}/initrd.key`).trim();
  } catch {
    // no initramfs yet
  }
  if (!exists(`${dir}/initrd.img`) || key !== initrdKey(dir)) {
    if (!build) throw new Error(`the initramfs in ${dir} is missing or stale. ${KERNEL_HOWTO}`);
    await buildInitrd(dir, log);
  }
  await pruneOtherKernels(version, log);
  return { version, dir, vmlinuz: `${dir}/vmlinuz`, initrd: `${dir}/initrd.img` };
}
