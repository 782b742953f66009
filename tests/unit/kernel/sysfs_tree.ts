/**
 * Builds a fake /sys tree in a temp directory from the real md sysfs capture
 * (tests/fixtures/kernel/console_sysfs_after_vol1.txt), for SysfsMdStore tests without root.
 */
export interface CapturedArray {
  attrs: Map<string, string>;
  members: Map<string, Map<string, string>>;
}

export function parseCapture(text: string): Map<string, CapturedArray> {
  const out = new Map<string, CapturedArray>();
  let cur: CapturedArray | null = null;
  for (const line of text.split("\n")) {
    const head = /^### \/sys\/block\/(md\d+)\/md$/.exec(line);
    if (head) {
      cur = { attrs: new Map(), members: new Map() };
      out.set(head[1], cur);
      continue;
    }
    const dev = /^\/sys\/block\/(md\d+)\/md\/dev-(\w+): (.*)$/.exec(line);
    if (dev) {
      const m = new Map<string, string>();
      for (const kv of dev[3].split(" ")) {
        const [k, v] = kv.split("=");
        m.set(k, v);
      }
      out.get(dev[1])!.members.set(dev[2], m);
      continue;
    }
    // empty values were printed without their newline: "level=raid_disks=chunk_size=0"
    let rest = line;
    let attr = /^([a-z_\/]+)=(.*)$/.exec(rest);
    while (attr && cur && !attr[2].startsWith("cat: ")) {
      const next = /^([a-z_]+)=(.*)$/.exec(attr[2]);
      if (next) {
        cur.attrs.set(attr[1], "");
        rest = attr[2];
        attr = next;
        continue;
      }
      cur.attrs.set(attr[1], attr[2]);
      break;
    }
  }
  return out;
}

/** Block device numbers of the capture's virtio disks (vda 254:0, vdb 254:16, ...). */
export const DISK_NUMBERS: Record<string, string> = {
  vda: "254:0",
  vdb: "254:16",
  vdc: "254:32",
  vdd: "254:48",
};

export async function buildSysTree(capture: Map<string, CapturedArray>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "mdts-sys-" });
  for (const [name, dev] of Object.entries(DISK_NUMBERS)) {
    await Deno.mkdir(`${root}/class/block/${name}`, { recursive: true });
    await Deno.writeTextFile(`${root}/class/block/${name}/dev`, `${dev}\n`);
  }
  await Deno.mkdir(`${root}/module/md_mod/parameters`, { recursive: true });
  await Deno.writeTextFile(`${root}/module/md_mod/parameters/new_array`, "");
  for (const [devnm, a] of capture) {
    const md = `${root}/block/${devnm}/md`;
    await Deno.mkdir(`${md}/bitmap`, { recursive: true });
    for (const [k, v] of a.attrs) await Deno.writeTextFile(`${md}/${k}`, `${v}\n`);
    for (const [name, m] of a.members) {
      await Deno.mkdir(`${md}/dev-${name}/block`, { recursive: true });
      const files: Record<string, string> = {
        slot: m.get("slot")!,
        offset: m.get("offset")!,
        size: m.get("size")!,
        state: m.get("state")!,
        recovery_start: m.get("rs")!,
        "block/dev": DISK_NUMBERS[name],
      };
      for (const [k, v] of Object.entries(files)) {
        await Deno.writeTextFile(`${md}/dev-${name}/${k}`, `${v}\n`);
      }
    }
  }
  return root;
}
