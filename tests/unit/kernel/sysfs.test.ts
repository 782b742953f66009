import assert from "node:assert/strict";
import {
  MAX_SECTOR,
  MdArray,
  parseMetadataVersion,
  parseSyncCompleted,
} from "../../../kernel/md/sysfs.ts";
import { compareDevnm, SysfsMdStore } from "../../../kernel/md/sysfs_store.ts";
import { candidateDevnms, configureArray, pickFreeDevnm } from "../../../kernel/md/create.ts";
import { buildSysTree, parseCapture } from "./sysfs_tree.ts";

const capture = parseCapture(
  Deno.readTextFileSync(
    new URL("../../fixtures/kernel/console_sysfs_after_vol1.txt", import.meta.url),
  ),
);

Deno.test("metadata_version forms (spec 1.3)", () => {
  assert.deepEqual(parseMetadataVersion("external:imsm"), {
    kind: "external-container",
    name: "imsm",
  });
  assert.deepEqual(parseMetadataVersion("external:/md127/0"), {
    kind: "external-member",
    container: "md127",
    subarray: "0",
    blocked: false,
  });
  assert.deepEqual(parseMetadataVersion("external:-md127/1"), {
    kind: "external-member",
    container: "md127",
    subarray: "1",
    blocked: true,
  });
  assert.deepEqual(parseMetadataVersion("none"), { kind: "none" });
  assert.deepEqual(parseMetadataVersion("1.2"), { kind: "native", version: "1.2" });
  assert.equal(parseMetadataVersion("external:/x").kind, "unknown");
});

Deno.test("sync_completed forms", () => {
  assert.deepEqual(parseSyncCompleted("2048 / 32768"), { done: 2048n, total: 32768n });
  assert.equal(parseSyncCompleted("none"), "none");
  assert.equal(parseSyncCompleted("delayed"), "delayed");
  assert.throws(() => parseSyncCompleted("soon"), /unexpected text "soon"/);
});

Deno.test("typed reads agree with the real capture, for container, raid5 and raid0", async () => {
  const root = await buildSysTree(capture);
  try {
    const store = new SysfsMdStore(root);
    assert.deepEqual(await store.arrays(), ["md125", "md126", "md127"]);
    for (const [devnm, cap] of capture) {
      const a = new MdArray(store, devnm);
      const raw = (k: string) => cap.attrs.get(k);
      assert.equal(await a.arrayState(), raw("array_state"));
      assert.equal(await a.level(), raw("level"));
      assert.equal(await a.metadataVersionText(), raw("metadata_version"));
      assert.equal(String(await a.componentSize()), raw("component_size"));
      assert.equal(String(await a.arraySize()), raw("array_size"));
      assert.equal(String((await a.chunkSize()).value), raw("chunk_size"));
      assert.equal(String((await a.layout()).value), raw("layout"));
      assert.equal((await a.safeModeDelay()).toFixed(3), raw("safe_mode_delay"));
      assert.equal(String(await a.maxReadErrors()), raw("max_read_errors"));
      assert.equal(String(await a.reshapePosition()), raw("reshape_position"));
      assert.equal(String(await a.resyncStart()), raw("resync_start"));
      assert.equal(await a.reshapeDirection(), raw("reshape_direction"));
      // attributes that exist only with a sync thread read null elsewhere (raid0, container)
      assert.equal(await a.syncAction(), raw("sync_action") ?? null);
      assert.equal(
        (await a.degraded())?.toString() ?? null,
        raw("degraded") ?? null,
      );
      assert.equal((await a.syncMax())?.toString() ?? null, raw("sync_max") ?? null);
      const rd = await a.raidDisks();
      assert.equal(rd === null ? "" : String(rd.value), raw("raid_disks"));
      const members = await a.members();
      assert.deepEqual(members.map((m) => m.name), [...cap.members.keys()].sort());
      for (const m of members) {
        const c = cap.members.get(m.name)!;
        assert.equal(String(await m.slot() ?? "none"), c.get("slot"));
        assert.equal(String(await m.offset()), c.get("offset"));
        assert.equal(String(await m.size()), c.get("size"));
        assert.equal((await m.state()).join(","), c.get("state"));
        assert.equal(String(await m.recoveryStart()), c.get("rs"));
      }
    }
    const r5 = new MdArray(store, "md126");
    assert.deepEqual(await r5.metadataVersion(), {
      kind: "external-member",
      container: "md127",
      subarray: "0",
      blocked: false,
    });
    assert.equal(await r5.syncCompleted(), "none");
    assert.equal(await r5.member("vdb").blockDev(), "254:16");
    assert.equal(await new MdArray(store, "md127").raidDisks(), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writes: blocking rewrites index 9, one value per file, MaxSector for none", async () => {
  const root = await buildSysTree(capture);
  try {
    const store = new SysfsMdStore(root);
    const r5 = new MdArray(store, "md126");
    await r5.setBlocked(true);
    // (files of this fake tree are not truncated on write, so compare from the start)
    assert.match(
      await Deno.readTextFile(`${root}/block/md126/md/metadata_version`),
      /^external:-md127\/0\n?$/,
    );
    assert.equal((await r5.metadataVersion() as { blocked: boolean }).blocked, true);
    await r5.setBlocked(false, true);
    assert.match(await Deno.readTextFile(`${root}/block/md126/md/sync_action`), /^idle\n?$/);
    await r5.setResyncStart("none");
    assert.equal(await Deno.readTextFile(`${root}/block/md126/md/resync_start`), `${MAX_SECTOR}`);
    await r5.setSafeModeDelay(4);
    assert.equal(await Deno.readTextFile(`${root}/block/md126/md/safe_mode_delay`), "4.000\n");
    await r5.setSuspendWindow(6144n, 12288n);
    assert.equal(await r5.suspendLo(), 6144n);
    assert.equal(await r5.suspendHi(), 12288n);
    await assert.rejects(
      () => new MdArray(store, "md127").setBlocked(true),
      /cannot block an array whose metadata_version is "external:imsm"/,
    );
    // a file that does not exist is ENOENT, named
    await assert.rejects(
      () => new MdArray(store, "md125").setSyncAction("frozen"),
      /ENOENT opening .*\/block\/md125\/md\/sync_action/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("geometry is written in mdadm's order; raid0 skips resync_start", async () => {
  const root = await buildSysTree(new Map());
  try {
    const store = new SysfsMdStore(root);
    await Deno.mkdir(`${root}/block/md120/md`, { recursive: true });
    // sysfs files always exist; writing never creates one
    const all = ["metadata_version", "level", "raid_disks", "chunk_size", "layout"];
    all.push("component_size", "array_size", "resync_start");
    for (const f of all) await Deno.writeTextFile(`${root}/block/md120/md/${f}`, "");
    const a = new MdArray(store, "md120");
    await configureArray(a, {
      metadataVersion: "external:/md127/1",
      level: "raid0",
      raidDisks: 3,
      chunkBytes: 65536,
      layout: 0,
      componentKiB: 16384n,
      arrayKiB: 49152n,
      resyncStart: 0n,
    });
    const dir = `${root}/block/md120/md`;
    assert.equal(await Deno.readTextFile(`${dir}/resync_start`), "");
    assert.equal(await Deno.readTextFile(`${dir}/metadata_version`), "external:/md127/1");
    assert.equal(await Deno.readTextFile(`${dir}/level`), "raid0");
    assert.equal(await Deno.readTextFile(`${dir}/array_size`), "49152");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("automatic names: md127 downwards, then md511 downwards", async () => {
  const names = [...candidateDevnms()];
  assert.equal(names[0], "md127");
  assert.equal(names[127], "md0");
  assert.equal(names[128], "md511");
  assert.equal(names.length, 512);
  const root = await buildSysTree(capture);
  try {
    assert.equal(await pickFreeDevnm(new SysfsMdStore(root)), "md124");
    assert.equal(await pickFreeDevnm(new SysfsMdStore(root), ["md124"]), "md123");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  assert.deepEqual(["md127", "md9", "md10", "md_x"].sort(compareDevnm), [
    "md9",
    "md10",
    "md127",
    "md_x",
  ]);
});
