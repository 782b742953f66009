/**
 * Names of md devices (spec md-kernel.md section 7) and the order in which the kernel lists
 * an array's components, which mdadm's output and its slot choices follow.
 */

export interface RequestedName {
  /** A fixed kernel name ("md5"), or null to take the first free one. */
  devnm: string | null;
  /** The /dev/md/NAME link name, or null for none. */
  link: string | null;
  /** As mdadm prints it: "/dev/md/vol0" or "/dev/md5". */
  display: string;
}

/** "/dev/md/vol0", "vol0", "/dev/md5", "/dev/md/5", "md5" -> devnm and link. */
export function parseRequestedName(text: string): RequestedName {
  let t = text;
  if (t.startsWith("/dev/md/")) t = t.slice("/dev/md/".length);
  else if (/^\/dev\/md\d+$/.test(t)) {
    return { devnm: t.slice(5), link: null, display: t };
  } else if (t.startsWith("/dev/")) {
    return { devnm: null, link: t.slice(5).replaceAll("/", "_"), display: text };
  }
  if (/^\d+$/.test(t)) return { devnm: `md${t}`, link: t, display: `/dev/md/${t}` };
  if (/^md\d+$/.test(t)) return { devnm: t, link: null, display: `/dev/${t}` };
  return { devnm: null, link: t, display: `/dev/md/${t}` };
}

/**
 * Makes a metadata-given name unique among taken link names: mdadm appends "_0", "_1"...
 * (spec section 7).
 */
export function uniqueLinkName(name: string, taken: Set<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 0;; i++) {
    const candidate = `${name}_${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_RATIO_64 = 0x61c8864680b583ebn;
const INT_MAX = 0x7fffffffn;

/**
 * Linux kernfs's name hash (kernfs_name_hash): sysfs lists a directory in ascending hash
 * order, so this is the order of an md device's dev-* entries when read back from the
 * kernel (verified against the component order of mdadm 4.2's --detail on a container).
 */
export function kernfsNameHash(name: string): bigint {
  let hash = 0n;
  for (const byte of new TextEncoder().encode(name)) {
    const c = BigInt(byte);
    hash = ((hash + (c << 4n) + (c >> 4n)) * 11n) & MASK64;
  }
  let h = ((hash * GOLDEN_RATIO_64) & MASK64) >> 32n;
  h &= INT_MAX;
  if (h < 2n) h += 2n;
  if (h >= INT_MAX) h = INT_MAX - 1n;
  return h;
}

/** Component names in the order sysfs lists an md directory ("vdc", "vda", "vdd", "vdb"). */
export function sysfsMemberOrder(names: string[]): string[] {
  return [...names].sort((a, b) => {
    const ha = kernfsNameHash(`dev-${a}`), hb = kernfsNameHash(`dev-${b}`);
    return ha < hb ? -1 : ha > hb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * The disks mdadm 4.2 gives a new volume, in slot order: it walks the container's component
 * list from its second entry and wraps around to the first (seen in every fixture:
 * [vdc, vda, vdd, vdb] gives slots vda, vdd, vdb, vdc).
 */
export function volumeSlotOrder(containerMembers: string[], count: number): string[] {
  const listed = sysfsMemberOrder(containerMembers);
  const rotated = [...listed.slice(1), ...listed.slice(0, 1)];
  return rotated.slice(0, count);
}
