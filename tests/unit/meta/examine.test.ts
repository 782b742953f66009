/**
 * `--examine` output against real `mdadm -E` (4.2) text for every fixture disk.
 * Each disk is rebuilt as a sparse image file named after its device (".../vda"), so the
 * default IMSM_DEVNAME_AS_SERIAL serial rule finds it in the table; the first line of our
 * output names the image path, so only that line is normalised ("<path>:" -> "/dev/vda:").
 */
import assert from "node:assert/strict";
import { examineDevices } from "../../../core/examine.ts";
import { renderExamine } from "../../../cli/render/examine_text.ts";
import { renderExamineBrief } from "../../../cli/render/examine_brief.ts";
import { examineJson, renderExamineJson } from "../../../cli/render/examine_json.ts";
import { FileBlockReader, writeImage } from "./file_block_reader.ts";
import { fixtureCaseNames, loadFixtureCase } from "./fixtures.ts";

const reader = new FileBlockReader();

async function buildImages(caseName: string): Promise<{ dir: string; paths: string[] }> {
  const c = loadFixtureCase(caseName);
  const dir = await Deno.makeTempDir({ prefix: `mdts-examine-${caseName}-` });
  const paths: string[] = [];
  for (const d of c.disks) {
    const path = `${dir}/${d.device.slice(d.device.lastIndexOf("/") + 1)}`;
    await writeImage(path, d.diskSize, d.tailOffset, d.tail);
    paths.push(path);
  }
  return { dir, paths };
}

function normaliseFirstLine(text: string, device: string): string {
  const nl = text.indexOf("\n");
  return `${device}:${text.slice(nl)}`;
}

for (const caseName of fixtureCaseNames()) {
  const c = loadFixtureCase(caseName);
  for (const d of c.disks) {
    Deno.test(`examine ${caseName}/disk${d.index} equals mdadm -E`, async () => {
      const { dir, paths } = await buildImages(caseName);
      try {
        const [e] = await examineDevices(reader, [paths[d.index]]);
        assert.equal(e.error, null);
        const text = renderExamine(e, { timeZone: "utc" });
        assert.ok(text.startsWith(`${paths[d.index]}:\n`));
        assert.equal(normaliseFirstLine(text, d.device), d.examineText);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }

  if (c.briefScan !== null) {
    Deno.test(`examine --brief --scan ${caseName} equals mdadm -Ebsc`, async () => {
      const { dir, paths } = await buildImages(caseName);
      try {
        // mdadm --scan walks /proc/partitions bottom-up: vdd, vdc, vdb, vda.
        const examined = await examineDevices(reader, [...paths].reverse());
        assert.equal(renderExamineBrief(examined), c.briefScan);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("examine --json carries the header, tables and migration record", async () => {
  const { dir, paths } = await buildImages("f_raid5_grow_3to4_live");
  try {
    const examined = await examineDevices(reader, paths);
    const parsed = JSON.parse(renderExamineJson(examined));
    assert.equal(parsed.length, 4);
    const j = examineJson(examined[0]) as Record<string, unknown>;
    const header = j.header as Record<string, unknown>;
    assert.equal(header.generation_num, 0x24);
    assert.equal(header.mpb_size, 644);
    assert.equal(j.uuid, "e953d0b7:a59e67d1:89c24923:9da5a6aa");
    const vol = (j.volumes as Record<string, unknown>[])[0];
    assert.equal(vol.name, "vol0");
    assert.equal((vol.maps as unknown[]).length, 2);
    assert.equal((j.migration_record as Record<string, unknown>).blocks_per_unit, 6144);
    assert.equal(parsed[2].migration_record, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examine reports a device without IMSM metadata as a typed error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/vdz`;
    await writeImage(path, 1n << 20n, 0n, new Uint8Array(512));
    const [e] = await examineDevices(reader, [path]);
    assert.equal(e.metadata, null);
    assert.equal((e.error as { code?: string }).code, "bad-signature");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
