#!/bin/bash
# Guest side of bench/grow_vm.ts: one timed grow on the real kernel of the test VM, as root.
#
#   grow_vm_guest.sh TOOL LEVEL MEMBERS NEW MIB RUN DISK...     (NEW disks)
#
# TOOL  mdadm: Debian's mdadm 4.2 grows an IMSM container it made (its own mdmon runs);
#       mdts:  the same container, mdts mdmon having taken it over, grown by mdts --grow;
#       floor: no metadata at all: the same geometry built through md's sysfs (external
#              metadata nobody manages), reshaped by md in one go (sync_max=max): no windows,
#              no copy area, no checkpoints. The kernel's own share of the work.
# Every tool gets the same disks, wiped first, the same chunk (128 KiB), the same data offset
# (0, IMSM's) and MIB MiB of data per member; a 16 MiB random pattern is written at the start
# of the volume before the grow and read back after it.
#
# The clock starts right before the grow command (for the floor: before its first sysfs write
# of the grow) and stops when all of these hold, polled every 0.2 s:
#   - no grow process: no mdadm process, no /run/mdadm/CT.grow.pid (the floor has neither);
#   - md: the final level and raid_disks, sync_action idle (or absent), reshape_position none,
#     the block device at its new size;
#   - metadata (not the floor): mdadm -E of every member says Members NEW and every
#     Migrate State idle.
# Prints "RESULT key=value ..." on stdout; what it does goes to stderr.
set -u
tool=$1 level=$2 members=$3 new=$4 mib=$5 run=$6
shift 6
disks=("$@")
mdts="deno run -A $REPO/mod.ts"
kib=$((mib * 1024))
pat=/tmp/bench-pat-$run

log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }
# milliseconds now, in NOW, without a fork
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  NOW=$((t / 1000))
}
result() { echo "RESULT tool=$tool level=$level members=$members new=$new mib=$mib run=$run $*"; }
die() {
  log "FAILED: $*"
  cat /proc/mdstat >&2
  [ "$stage" != check ] && cleanup
  result "status=failed stage=$stage"
  exit 1
}

# Stops what this run started, so that the next run finds its disks free: after a failure too
# (a grow child still running is ended by its pid file; md stops mid-reshape).
cleanup() {
  local pid i
  [ -n "${stamper:-}" ] && kill -- "-$stamper" 2>/dev/null
  if [ "$tool" = floor ]; then
    [ -n "${vol:-}" ] && echo clear >"/sys/block/$vol/md/array_state"
    [ -n "${responder:-}" ] && kill "$responder" 2>/dev/null && wait "$responder" 2>/dev/null
  elif [ -n "${ct:-}" ]; then
    pid=$(cat "/run/mdadm/$ct.grow.pid" 2>/dev/null)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    mdadm --stop "/dev/$vol" >&2 || $mdts --stop "/dev/$vol" >&2
    mdadm --stop "/dev/$ct" >&2 || $mdts --stop "/dev/$ct" >&2
    for a in "$vol" "$ct"; do
      [ -e "/sys/block/$a/md/array_state" ] && echo clear >"/sys/block/$a/md/array_state"
    done
    if [ -n "${monitor:-}" ]; then
      for ((i = 0; i < 50; i++)); do kill -0 "$monitor" 2>/dev/null || break; sleep 0.2; done
      kill "$monitor" 2>/dev/null
      wait "$monitor" 2>/dev/null
    fi
  fi
  udevadm settle
}

stage=check
[ ${#disks[@]} -eq "$new" ] || die "want $new disks, got ${#disks[@]}"
for d in "${disks[@]}"; do
  if grep -q "${d#/dev/}\[" /proc/mdstat; then die "$d is still in an array"; fi
done

stage=wipe
for d in "${disks[@]}"; do
  mdadm --zero-superblock "$d" >/dev/null 2>&1
  mib_total=$(($(blockdev --getsize64 "$d") / 1048576))
  dd if=/dev/zero of="$d" bs=1M count=4 oflag=direct status=none || die "wipe $d"
  dd if=/dev/zero of="$d" bs=1M seek=$((mib_total - 8)) count=8 oflag=direct status=none ||
    die "wipe end of $d"
done
udevadm settle
head -c 16M /dev/urandom >"$pat"
want=$(md5sum <"$pat" | cut -d' ' -f1)

# a stand-in for mdmon on the floor array: md holds a write on a clean external array until
# user space writes "active" (md-kernel.md 1.4); nothing else is done for it
answer_write_pending() {
  local st
  while [ -e "$1/array_state" ]; do
    read -r st <"$1/array_state" 2>/dev/null
    [ "$st" = write-pending ] && echo active >"$1/array_state"
    sleep 0.1
  done
}

if [ "$tool" = floor ]; then
  stage=build
  vol=md_bfloor$run
  echo "$vol" >/sys/module/md_mod/parameters/new_array || die "new_array $vol"
  s=/sys/block/$vol/md
  echo external:/md99/0 >$s/metadata_version
  echo "raid$level" >$s/level || die "level raid$level"
  echo "$members" >$s/raid_disks
  echo 131072 >$s/chunk_size
  [ "$level" = 5 ] && echo 0 >$s/layout # left-asymmetric, IMSM's raid5 layout
  echo "$kib" >$s/component_size
  echo none >$s/resync_start # in sync: the IMSM volumes were resynced before their grow
  for ((i = 0; i < members; i++)); do
    d=${disks[$i]#/dev/}
    cat "/sys/class/block/$d/dev" >$s/new_dev || die "new_dev $d"
    echo 0 >$s/dev-$d/offset
    echo "$kib" >$s/dev-$d/size
    echo "$i" >$s/dev-$d/slot || die "slot $i of $d"
  done
  [ "$level" = 5 ] && echo readonly >$s/array_state
  echo active >$s/array_state || die "start $vol"
  answer_write_pending $s &
  responder=$!
  udevadm settle
else
  stage=create
  mdadm -C /dev/md/bct$run -e imsm -n "$new" "${disks[@]}" -R >&2 || die "create container"
  udevadm settle
  mdadm -C /dev/md/bvol$run -l "$level" -n "$members" "${disks[@]:0:members}" -c 128 \
    -z "${mib}M" -R >&2 || die "create volume"
  udevadm settle
  mdadm --wait /dev/md/bvol$run >/dev/null 2>&1
  ct=$(basename "$(readlink -f /dev/md/bct$run)")
  vol=$(basename "$(readlink -f /dev/md/bvol$run)")
  s=/sys/block/$vol/md
  if [ "$tool" = mdts ]; then
    stage=takeover
    # our monitor replaces mdmon 4.2 on this container (as tests/vm/grow_oce.test.ts does)
    MDTS_WRITE_LOG=/tmp/bench-mon-$run.log setsid $mdts mdmon --foreground --takeover "$ct" \
      </dev/null >/dev/null 2>/tmp/bench-mdmon-$run.log &
    monitor=$!
    for ((i = 0; i < 120; i++)); do
      sleep 1
      cmd=$(tr '\0' ' ' <"/proc/$(cat /run/mdadm/$ct.pid 2>/dev/null)/cmdline" 2>/dev/null)
      case "$cmd" in *mod.ts*mdmon*) break ;; esac
    done
    case "$cmd" in *mod.ts*mdmon*) ;; *) die "mdts mdmon did not take $ct over: $cmd" ;; esac
  fi
fi
stage=pattern
dd if="$pat" of="/dev/$vol" bs=1M oflag=direct status=none || die "pattern write"
newdata=$new
[ "$level" = 5 ] && newdata=$((new - 1))
comp=$(cat $s/component_size)
expect=$((comp * 2 * newdata))
sync
sleep 1

# The end condition in three parts, read with shell builtins (a fork costs milliseconds under
# TCG and the poll must not steal CPU from the grow it times).
# A finished grow child of mdadm is reparented to the guest's PID 1 (the agent), which may
# reap it late: a zombie counts as gone (kill -0 would say it is alive).
grow_process_gone() {
  local p f
  [ -e "/run/mdadm/${ct:-none}.grow.pid" ] && return 1
  for p in $growpids; do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    [ "${f[2]}" != Z ] && return 1
  done
  return 0
}
md_done() {
  local v sa=idle
  read -r v <$s/level && [ "$v" = "raid$level" ] || return 1
  read -r v <$s/raid_disks && [ "$v" = "$new" ] || return 1
  [ -e $s/sync_action ] && read -r sa <$s/sync_action
  [ "$sa" = idle ] || return 1
  read -r v <$s/reshape_position && [ "$v" = none ] || return 1
  read -r v </sys/block/$vol/size && [ "$v" = "$expect" ] || return 1
}
# mdadm -E of every member (the real mdadm reads the metadata for both tools); run only once
# the other two hold, as it takes a while
metadata_idle() {
  [ "$tool" = floor ] && return 0
  local d e
  for d in "${disks[@]}"; do
    e=$(mdadm -E "$d" 2>/dev/null)
    grep -q "^ *Members : $new$" <<<"$e" || return 1
    grep "Migrate State :" <<<"$e" | grep -qv ": idle$" && return 1
    grep -q "Migrate State : idle" <<<"$e" || return 1
  done
}

stage=grow
log "$tool: grow $vol raid$level $members -> $new, $mib MiB per member"
if [ -n "${ct:-}" ]; then
  mon_lines_before=0
  [ -e "/tmp/bench-mon-$run.log" ] && mon_lines_before=$(wc -l <"/tmp/bench-mon-$run.log")
  glog=/run/mdadm/$ct.grow.log
  rm -f "$glog" # a log of an earlier run on the same container name
fi
if [ "$tool" = mdts ]; then
  # each line of the grow log with the time it appeared (the child writes no times)
  setsid bash -c 'stdbuf -oL tail -s 0.2 -n +1 -F "$0" 2>/dev/null | while IFS= read -r l; do
    echo "${EPOCHREALTIME//[!0-9]/} $l"; done' "$glog" >/tmp/bench-stamped-$run.log &
  stamper=$!
fi
growpids=""
now_ms
t0=$NOW
case "$tool" in
mdadm)
  mdadm --grow /dev/md/bct$run --raid-devices="$new" >&2
  rc=$?
  growpids=$(pgrep -f '^mdadm --grow')
  ;;
mdts)
  MDTS_GROW_DEBUG=1 MDTS_WRITE_LOG=/tmp/bench-writes-$run.log \
    $mdts --grow /dev/md/bct$run --raid-devices="$new" >&2
  rc=$?
  ;;
floor)
  rc=0
  nd=${disks[$members]#/dev/}
  if [ "$level" = 0 ]; then
    # what the IMSM raid0 grow does in md: raid4 with an empty parity slot, then back
    echo raid4 >$s/level || rc=$?
  fi
  echo frozen >$s/sync_action
  echo active >$s/array_state
  raid_disks=$((members + 1))
  [ "$level" = 0 ] && raid_disks=$((members + 2))
  echo "$raid_disks" >$s/raid_disks || rc=$?
  read -r majmin <"/sys/class/block/$nd/dev"
  echo "$majmin" >$s/new_dev || rc=$?
  echo 0 >$s/dev-$nd/offset
  echo "$kib" >$s/dev-$nd/size
  echo "$members" >$s/dev-$nd/slot || rc=$?
  echo 0 >$s/sync_min
  echo max >$s/sync_max
  echo reshape >$s/sync_action || rc=$?
  now_ms
  t_reshaping=$NOW
  while :; do
    read -r rp <$s/reshape_position
    read -r sa <$s/sync_action
    [ "$rp" = none ] && [ "$sa" = idle ] && break
    now_ms
    [ $((NOW - t0)) -gt 900000 ] && die "md reshape not finished after 900 s"
    sleep 0.2
  done
  now_ms
  log "floor: md reshaping after $((t_reshaping - t0)) ms, done after $((NOW - t0)) ms"
  echo "$((comp * newdata))" >$s/array_size || rc=$?
  if [ "$level" = 0 ]; then
    echo idle >$s/sync_action
    echo raid0 >$s/level || rc=$?
  fi
  ;;
esac
now_ms
t_cmd=$NOW
[ "$rc" = 0 ] || die "grow command exited with $rc"
# the floor is done when its own sequence is; a grow process gone for 60 s without the end
# state is a failed grow, not a slow one
timeout_ms=$((900 * 1000))
[ "$tool" = floor ] && timeout_ms=$((t_cmd - t0 + 10000))
t_gone="" t_md="" t1=""
while :; do
  now_ms
  now=$NOW
  gone=0 md=0
  grow_process_gone && gone=1 && t_gone=${t_gone:-$now}
  md_done && md=1 && t_md=${t_md:-$now}
  # the clock stops at the start of the poll that sees all three
  if [ $gone = 1 ] && [ $md = 1 ] && metadata_idle; then
    t1=$now
    break
  fi
  if [ $((now - t0)) -gt $timeout_ms ]; then
    [ -n "${ct:-}" ] && tail -20 "$glog" >&2 2>/dev/null
    die "not finished after $(((now - t0) / 1000)) s"
  fi
  if [ "$tool" = mdts ] && [ $gone = 1 ] &&
    grep -qiE 'error|failed|refused|uncaught' "$glog" 2>/dev/null; then
    tail -20 "$glog" >&2
    tail -20 /tmp/bench-mdmon-$run.log >&2
    die "mdts grow failed (log above)"
  fi
  if [ "$tool" != floor ] && [ -n "$t_gone" ] && [ $((now - t_gone)) -gt 60000 ]; then
    [ -n "${ct:-}" ] && tail -20 "$glog" >&2 2>/dev/null
    [ "$tool" = mdts ] && tail -20 /tmp/bench-mdmon-$run.log >&2
    for d in "${disks[@]}"; do mdadm -E "$d" | grep -E 'Members|Migrate State|Map State' >&2; done
    grep . $s/{level,raid_disks,sync_action,reshape_position} /sys/block/$vol/size >&2
    die "the grow process ended 60 s ago but the grow is not finished (state above)"
  fi
  sleep 0.2
done

stage=verify
got=$(dd if="/dev/$vol" bs=1M count=16 iflag=direct status=none | md5sum | cut -d' ' -f1)
data=ok
[ "$got" = "$want" ] || data=CHANGED
extra=""
if [ "$tool" = mdts ]; then
  wl=/tmp/bench-writes-$run.log
  windows=$(grep -c '% (' "/run/mdadm/$ct.grow.log" 2>/dev/null)
  first=$(awk -F'\t' '$6=="migration-record"{print $3; exit}' "$wl")
  records=$(awk -F'\t' -v d="$first" '$6=="migration-record" && $3==d' "$wl" | wc -l)
  copies=$(awk -F'\t' -v d="$first" '$6=="copy-area" && $3==d' "$wl" | wc -l)
  mpb=$(tail -n +$((mon_lines_before + 1)) "/tmp/bench-mon-$run.log" |
    awk -F'\t' -v d="$first" '$6=="metadata" && $3==d' | wc -l)
  extra="windows=$windows records=$records copies=$copies mpb=$mpb"
  kill -- "-$stamper" 2>/dev/null
  log "grow log, seconds after the start of the grow command:"
  awk -v t0="$t0" '{ l = $0; sub(/^[0-9]+ /, "", l); printf "%6.1f  %s\n", ($1 / 1000 - t0) / 1000, l }' \
    /tmp/bench-stamped-$run.log >&2
fi
log "$tool: $(((t1 - t0)))ms (command returned after $((t_cmd - t0)) ms), data $data"

stage=cleanup
cleanup
result "status=ok data=$data ms=$((t1 - t0)) cmd_ms=$((t_cmd - t0)) gone_ms=$((t_gone - t0))" \
  "md_ms=$((t_md - t0)) meta_ms=$((t1 - t0)) $extra"
