#!/bin/busybox sh
# initramfs /init of the mdts test VM (busybox). Loads the md and virtio modules listed in
# /modules.list, mounts the host's root over 9p and hands over to the guest agent inside it.
# Everything else (udev, mounts of the chroot, the command loop) lives in agent.sh, so that it can
# change without rebuilding the initramfs.
/bin/busybox mkdir -p /proc /sys /dev /newroot /bin /sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "mdts-init: $*"; }
die() {
  say "FATAL: $*"
  sync
  poweroff -f
}

# modules.list: one module a line, "file.ko [params...]", already in dependency order.
while read -r file params; do
  [ -n "$file" ] || continue
  # shellcheck disable=SC2086 # params are words on purpose
  insmod "/lib/modules/$file" $params || say "insmod $file failed (continuing)"
done </modules.list

agent="" chan="" repo="" denodir="" exports=""
for word in $(cat /proc/cmdline); do
  case "$word" in
  mdts_agent=*) agent="${word#mdts_agent=}" ;;
  mdts_chan=*) chan="${word#mdts_chan=}" ;;
  mdts_repo=*) repo="${word#mdts_repo=}" ;;
  mdts_deno=*) denodir="${word#mdts_deno=}" ;;
  mdts_exports=*) exports="${word#mdts_exports=}" ;;
  esac
done
[ -n "$agent" ] && [ -n "$chan" ] && [ -n "$repo" ] || die "kernel command line lacks mdts_agent/mdts_chan/mdts_repo"

# Read-only with cache=loose: the guest keeps pages and dentries of the host's files, so programs
# (deno, mdadm, udev's helpers) start fast; it cannot write to the host's root. The VM's work dir,
# where host and guest exchange files, is a separate uncached export (see agent.sh).
# msize: larger 9p messages make reading binaries over 9p much faster.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=any,cache=loose,ro host /newroot ||
  die "cannot mount the host root over 9p (mount_tag=host); is -virtfs given to qemu?"
[ -f "/newroot$agent" ] || die "agent script $agent not found on the host root"
say "modules loaded, host root mounted, starting agent $agent"
exec chroot /newroot /bin/bash "$agent" "$chan" "$repo" "$denodir" "$exports"
