/**
 * mdadm 4.2's option vocabulary: every long option with its argument kind and meaning key, and
 * the three short-option sets mdadm switches between once the mode is known. A long option that
 * is a synonym of a short one carries the short letter as its key, so `--level` and `-l` are one
 * thing; long-only options have word keys. Table order matters: getopt lists ambiguous
 * abbreviations in this order. `--dry-run` and `--json` are mdts additions.
 */
import { type LongOption, type ShortSpec, shortSpec } from "./getopt.ts";

function opt(name: string, arg: 0 | 1 | 2, key: string): LongOption {
  return { name, arg: arg === 0 ? "none" : arg === 1 ? "required" : "optional", key };
}

export const MDADM_LONG_OPTIONS: readonly LongOption[] = [
  // modes
  opt("manage", 0, "manage"),
  opt("misc", 0, "misc"),
  opt("assemble", 0, "A"),
  opt("build", 0, "B"),
  opt("create", 0, "C"),
  opt("detail", 0, "D"),
  opt("examine", 0, "E"),
  opt("follow", 0, "F"),
  opt("grow", 0, "G"),
  opt("incremental", 0, "I"),
  opt("zero-superblock", 0, "zero-superblock"),
  opt("query", 0, "Q"),
  opt("examine-bitmap", 0, "X"),
  opt("auto-detect", 0, "auto-detect"),
  opt("detail-platform", 0, "detail-platform"),
  opt("kill-subarray", 1, "kill-subarray"),
  opt("update-subarray", 1, "update-subarray"),
  opt("udev-rules", 2, "udev-rules"),
  opt("offroot", 0, "offroot"),
  opt("examine-badblocks", 0, "examine-badblocks"),
  opt("dump", 1, "dump"),
  opt("restore", 1, "restore"),
  opt("monitor", 0, "F"),
  // general
  opt("help", 0, "h"),
  opt("help-options", 0, "help-options"),
  opt("version", 0, "V"),
  opt("verbose", 0, "v"),
  opt("quiet", 0, "q"),
  // create / build
  opt("chunk", 1, "chunk"),
  opt("rounding", 1, "chunk"),
  opt("level", 1, "l"),
  opt("parity", 1, "layout"),
  opt("layout", 1, "layout"),
  opt("raid-disks", 1, "n"),
  opt("raid-devices", 1, "n"),
  opt("spare-disks", 1, "x"),
  opt("spare-devices", 1, "x"),
  opt("size", 1, "z"),
  opt("auto", 1, "auto"),
  opt("assume-clean", 0, "assume-clean"),
  opt("metadata", 1, "e"),
  opt("bitmap", 1, "bitmap"),
  opt("bitmap-chunk", 1, "bitmap-chunk"),
  opt("write-behind", 2, "write-behind"),
  opt("write-mostly", 0, "write-mostly"),
  opt("failfast", 0, "failfast"),
  opt("nofailfast", 0, "nofailfast"),
  opt("re-add", 0, "re-add"),
  opt("homehost", 1, "homehost"),
  opt("symlinks", 1, "symlinks"),
  opt("data-offset", 1, "data-offset"),
  opt("nodes", 1, "nodes"),
  opt("home-cluster", 1, "home-cluster"),
  opt("write-journal", 1, "write-journal"),
  opt("consistency-policy", 1, "k"),
  // assemble
  opt("uuid", 1, "u"),
  opt("super-minor", 1, "super-minor"),
  opt("name", 1, "N"),
  opt("config", 1, "config"),
  opt("scan", 0, "s"),
  opt("force", 0, "force"),
  opt("update", 1, "U"),
  opt("freeze-reshape", 0, "freeze-reshape"),
  // manage
  opt("add", 0, "add"),
  opt("add-spare", 0, "add-spare"),
  opt("add-journal", 0, "add-journal"),
  opt("remove", 0, "remove"),
  opt("fail", 0, "fail"),
  opt("set-faulty", 0, "fail"),
  opt("replace", 0, "replace"),
  opt("with", 0, "with"),
  opt("run", 0, "R"),
  opt("stop", 0, "S"),
  opt("readonly", 0, "o"),
  opt("readwrite", 0, "w"),
  opt("no-degraded", 0, "no-degraded"),
  opt("wait", 0, "wait"),
  opt("wait-clean", 0, "wait-clean"),
  opt("action", 1, "action"),
  opt("cluster-confirm", 0, "cluster-confirm"),
  // detail / examine
  opt("brief", 0, "brief"),
  opt("no-devices", 0, "no-devices"),
  opt("export", 0, "Y"),
  opt("sparc2.2", 0, "sparc2.2"),
  opt("test", 0, "t"),
  opt("prefer", 1, "prefer"),
  // monitor
  opt("mail", 1, "mail"),
  opt("program", 1, "program"),
  opt("alert", 1, "program"),
  opt("increment", 1, "increment"),
  opt("delay", 1, "d"),
  opt("daemonise", 0, "daemonise"),
  opt("daemonize", 0, "daemonise"),
  opt("oneshot", 0, "1"),
  opt("pid-file", 1, "i"),
  opt("syslog", 0, "y"),
  opt("no-sharing", 0, "no-sharing"),
  // grow
  opt("backup-file", 1, "backup-file"),
  opt("invalid-backup", 0, "invalid-backup"),
  opt("array-size", 1, "Z"),
  opt("continue", 0, "continue"),
  // incremental
  opt("rebuild-map", 0, "rebuild-map"),
  opt("path", 1, "path"),
  // mdts additions
  opt("dry-run", 0, "dry-run"),
  opt("json", 0, "json"),
];

/*
 * mdadm 4.2 lists "r:" in every set, so `-r` swallows the next word (`mdadm /dev/md0 -r /dev/sdb`
 * silently removes nothing); upstream fixed that regression after 4.2 by giving -r an argument
 * only in monitor mode. We follow the fix: -r is --remove (or --rebuild-map) and takes nothing,
 * except under --monitor where it is --increment N.
 */

/** Before a mode is chosen, and in misc mode: -b is --brief, -a/-k take nothing. */
export const SHORT_DEFAULT: ShortSpec = shortSpec(
  "-ABCDEFGIQhVXYWZ:vqbc:i:l:p:m:n:x:u:c:d:z:U:N:sarfRSow1tye:k",
);
/** Monitor mode: -r is the rebuild increment and takes a number. */
export const SHORT_MONITOR: ShortSpec = shortSpec(
  "-ABCDEFGIQhVXYWZ:vqbc:i:l:p:m:r:n:x:u:c:d:z:U:N:safRSow1tye:k",
);
/** Manage and grow: -b takes a bitmap argument, -k a consistency policy. */
export const SHORT_BITMAP: ShortSpec = shortSpec(
  "-ABCDEFGIQhVXYWZ:vqb:c:i:l:p:m:n:x:u:c:d:z:U:N:sarfRSow1tye:k:",
);
/** Create, build, assemble, incremental: -a also takes an argument (--auto). */
export const SHORT_BITMAP_AUTO: ShortSpec = shortSpec(
  "-ABCDEFGIQhVXYWZ:vqb:c:i:l:p:m:n:x:u:c:d:z:U:N:sa:rfRSow1tye:k:",
);
