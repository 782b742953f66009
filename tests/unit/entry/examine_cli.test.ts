/**
 * `mdadm -E` through the whole program (mod.ts -> cli -> core -> meta, real kernel/ reader with
 * O_DIRECT) on sparse disk images rebuilt from the real mdadm 4.2 fixtures: the output must be
 * mdadm's saved text. Images are named after the fixture device (vda, vdb, ...) so the serial
 * rule finds the disk; only each "DEVICE:" header line differs (image path vs /dev/vdX).
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { fixtureCaseNames, loadFixtureCase } from "../meta/fixtures.ts";

const MOD = new URL("../../../mod.ts", import.meta.url).pathname;

async function runMdadm(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-env", "--allow-ffi", MOD, ...args],
    env: { MDTS_ARGV0: "mdadm", TZ: "UTC", NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

async function buildImages(caseName: string, dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const disk of loadFixtureCase(caseName).disks) {
    const path = `${dir}/${disk.device.slice(disk.device.lastIndexOf("/") + 1)}`;
    const f = await Deno.open(path, { create: true, write: true, truncate: true });
    await f.truncate(Number(disk.diskSize));
    await f.seek(Number(disk.tailOffset), Deno.SeekMode.Start);
    for (let done = 0; done < disk.tail.length;) done += await f.write(disk.tail.subarray(done));
    f.close();
    paths.push(path);
  }
  return paths;
}

for (const caseName of fixtureCaseNames()) {
  Deno.test(`mdadm -E via mod.ts equals mdadm 4.2 on every disk of ${caseName}`, async () => {
    // /var/tmp, not a tmpfs: the reader uses O_DIRECT.
    const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "mdts-examine-" });
    try {
      const paths = await buildImages(caseName, dir);
      const res = await runMdadm(["-E", ...paths]);
      equal(res.err, "");
      equal(res.code, 0);
      const fx = loadFixtureCase(caseName);
      const expected = fx.disks.map((d) => d.examineText).join("");
      const normalised = res.out.replaceAll(`${dir}/`, "/dev/");
      deepStrictEqual(normalised.split("\n"), expected.split("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("mdadm -E on a disk without metadata and on a missing path: mdadm's messages, exit 1", async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "mdts-examine-" });
  try {
    const blank = `${dir}/blank`;
    await Deno.writeFile(blank, new Uint8Array(1 << 20));
    const res = await runMdadm(["-E", blank, `${dir}/missing`]);
    equal(res.code, 1);
    equal(res.out, "");
    equal(
      res.err,
      `mdadm: No md superblock detected on ${blank}.\n` +
        `mdadm: cannot open ${dir}/missing: No such file or directory\n`,
    );
    const none = await runMdadm(["-E"]);
    equal(none.code, 2);
    equal(none.err, "mdadm: No devices to examine\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
