/** Help texts per personality. */
import type { Personality } from "./personality.ts";

export function helpText(personality: Personality): string {
  if (personality === "mdmon") {
    return `Usage: mdmon [options] CONTAINER
       mdts mdmon [options] CONTAINER
Monitor an external-metadata (IMSM) container: keep its metadata true while the kernel runs its arrays.
Options:
  --foreground   stay in the foreground
  --takeover     replace a monitor already running for CONTAINER
  --all          monitor every active container
  --offroot      mark the process as started from the initramfs
  --help, --version
`;
  }
  const me = personality;
  return `Usage: ${me} --version | --help
       ${me} --examine [--brief|--scan|--json] DEVICE...
       ${me} --create DEVICE -e imsm -n N [-l LEVEL] [-c CHUNK] [-z SIZE] MEMBERS...
       ${me} --assemble [--scan] [DEVICE MEMBERS...]
       ${me} --grow /dev/md/CONTAINER --raid-devices=N [--dry-run] [--json]
       ${me} --grow --continue DEVICE
       ${me} mdmon CONTAINER
mdts manages Linux software RAID with Intel IMSM external metadata, mdadm compatible.
`;
}
