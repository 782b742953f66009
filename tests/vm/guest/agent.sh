#!/bin/bash
# Guest agent of the mdts test VM: PID 1 inside the chroot on the host's root (9p).
# Sets the system up like a booted machine (proc, sys, dev, /run, private /tmp, udev), then serves
# the host's command channel, a directory shared over 9p:
#   jobs/N.cmd   written by the host (atomically, by rename); N counts from 1 in this boot
#   jobs/N.out, jobs/N.err   the command's stdout and stderr, written while it runs
#   jobs/N.rc    its exit status ("N\n", one write) when it has finished
#   jobs/N.kill  written by the host: kill the command's whole process group
#   poweroff     written by the host: sync and power the machine off
#   signals/     guest processes create files here to signal the host (vm_signal NAME)
#   ready        written by the agent once the system is up ("uptime=S\n", one write)
# Usage (from init.sh): agent.sh CHAN_DIR REPO_DIR [DENO_BIN_DIR] [TAG=PATH,...]
# TAG=PATH are extra 9p exports mounted at PATH: "work" (the VM's work dir, holding CHAN_DIR) is
# read-write and uncached, so host and guest see each other's files at once; any other tag is
# mounted read-only with cache=loose.
set -u
chan="$1" repo="$2" denodir="${3:-}" exports_arg="${4:-}"
jobs="$chan/jobs"

say() {
  local up
  read -r up _ </proc/uptime 2>/dev/null
  echo "mdts-agent: [${up:-?}] $*" >/dev/console
}
halt_now() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 30
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
# What systemd would create: bash's <(...) needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/mdadm /run/udev /run/lock /run/mdts-host-tmp /run/deno
# The host's /tmp is on the (read-only) root export; the guest gets its own tmpfs /tmp. The
# repository and Deno, if under the host's /tmp, are bound back at the same path.
mount --bind /tmp /run/mdts-host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
for p in "$repo" "$denodir"; do
  case "$p" in
  /tmp/*)
    mkdir -p "$p"
    mount --bind "/run/mdts-host-tmp/${p#/tmp/}" "$p" || say "cannot bind $p from the host's /tmp"
    ;;
  esac
done
IFS=, read -r -a exports <<<"$exports_arg"
for e in "${exports[@]}"; do
  tag="${e%%=*}" path="${e#*=}"
  if [ "$tag" = work ]; then opts="cache=none"; else opts="cache=loose,ro"; fi
  mkdir -p "$path" 2>/dev/null # exists already unless under the guest's /tmp
  mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,access=any,$opts" "$tag" "$path" ||
    say "cannot mount 9p export $tag at $path"
done
# Deno's module cache as the host prepared it (VM work dir's deno-warm): without it every boot
# transpiles all of mdts again under the emulator, once per concurrently started process.
warm="${chan%/*}/deno-warm"
if [ -d "$warm/gen" ]; then
  cp -a "$warm/." /run/deno/ || say "cannot copy the warm Deno cache from $warm"
fi
# Writable copies of the host's mdadm config dir (the root is read-only; tests may write a conf).
mkdir -p /run/mdts-etc-mdadm
cp -a /etc/mdadm/. /run/mdts-etc-mdadm/ 2>/dev/null
mount --bind /run/mdts-etc-mdadm /etc/mdadm
# The agent's own output (job notices of bash) goes to a log; say() writes to the console.
exec </dev/null >/run/mdts-agent.log 2>&1

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
[ -n "$denodir" ] && PATH="$denodir:$PATH"
export HOME=/root LANG=C.UTF-8 TERM=dumb
export IMSM_NO_PLATFORM=1 IMSM_DEVNAME_AS_SERIAL=1 MDADM_NO_SYSTEMCTL=1
export DENO_DIR=/run/deno DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export REPO="$repo" MDTS_VM=1 MDTS_VM_CHAN="$chan" MDTS_VM_SIGNALS="$chan/signals"
# vm_signal NAME: tell the host that NAME happened (the host may cut the power on it).
vm_signal() { : >"$MDTS_VM_SIGNALS/$1"; }
export -f vm_signal

# udev as a booted system runs it: without it /dev/md/* links go stale.
say "mounts done, starting udev"
/lib/systemd/systemd-udevd --daemon
# Coldplug block devices only (md, virtio disks, loop): all devices cost seconds under TCG, and
# udevd still handles every new event.
udevadm trigger --action=add --type=subsystems --subsystem-match=block
udevadm trigger --action=add --type=devices --subsystem-match=block
udevadm settle --timeout=60 || say "udevadm settle timed out"
say "udev settled"

mkdir -p "$jobs" "$chan/signals"
# read -t on a FIFO nobody writes is a sleep without forking a process (forks are slow under TCG).
mkfifo /run/mdts-agent.tick
exec 9<>/run/mdts-agent.tick

# Job control on: each background job gets its own process group, so a kill takes its children
# too (no setsid exec: every exec costs under TCG).
set -m
start_job() {
  local base="$jobs/$1"
  (
    cd "$REPO" || exit 125
    bash "$base.cmd" </dev/null >"$base.out" 2>"$base.err"
    # One write of "N\n": the host takes the status once the newline is there.
    echo $? >"$base.rc"
  ) &
  running[$1]=$!
}

kill_job() {
  local id="$1" pid="${running[$1]}"
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # The wrapper died with its group; report the kill as the shell would (128 + SIGKILL).
  [ -e "$jobs/$id.rc" ] || echo 137 >"$jobs/$id.rc"
}

declare -A running=()
next=1
read -r uptime_s _ </proc/uptime
echo "uptime=$uptime_s" >"$chan/ready"
say "ready after ${uptime_s}s of uptime"
while :; do
  if [ -e "$jobs/$next.cmd" ]; then
    start_job "$next"
    next=$((next + 1))
    continue
  fi
  for id in "${!running[@]}"; do
    if [ -e "$jobs/$id.rc" ]; then
      wait "${running[$id]}" 2>/dev/null
      unset "running[$id]"
    elif [ -e "$jobs/$id.kill" ]; then
      kill_job "$id"
      unset "running[$id]"
    fi
  done
  if [ -e "$chan/poweroff" ]; then
    say "power off requested"
    halt_now
  fi
  read -r -t 0.02 -u 9 _
done
