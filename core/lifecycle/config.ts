/** The ARRAY lines of mdadm.conf that name IMSM containers and their volumes. */

export interface ConfigArray {
  /** /dev/md/NAME, or null when the line gives no device. */
  device: string | null;
  uuid: string | null;
  /** For a volume: the container's UUID (or device) and the member index. */
  container: string | null;
  member: string | null;
  metadata: string | null;
}

/** Parses ARRAY lines (continuation lines start with whitespace); other lines are ignored. */
export function parseConfigArrays(text: string): ConfigArray[] {
  const logical: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "");
    if (/^\s/.test(line) && logical.length > 0) logical[logical.length - 1] += " " + line.trim();
    else if (line.trim() !== "") logical.push(line.trim());
  }
  const out: ConfigArray[] = [];
  for (const l of logical) {
    const words = l.split(/\s+/);
    if (words[0] !== "ARRAY") continue;
    const a: ConfigArray = {
      device: null,
      uuid: null,
      container: null,
      member: null,
      metadata: null,
    };
    for (const w of words.slice(1)) {
      const eq = w.indexOf("=");
      if (eq < 0) {
        if (w.startsWith("/")) a.device = w;
        continue;
      }
      const key = w.slice(0, eq).toLowerCase(), value = w.slice(eq + 1);
      if (key === "uuid") a.uuid = value.toLowerCase();
      else if (key === "container") a.container = value.toLowerCase();
      else if (key === "member") a.member = value;
      else if (key === "metadata") a.metadata = value;
    }
    out.push(a);
  }
  return out;
}

/** mdadm accepts UUIDs with ':' '.' '-' or ' ' between hex groups: compare the hex only. */
export function sameUuid(a: string, b: string): boolean {
  const hex = (s: string) => s.toLowerCase().replace(/[^0-9a-f]/g, "");
  return hex(a) === hex(b);
}
