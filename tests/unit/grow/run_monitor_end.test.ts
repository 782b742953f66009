/**
 * The monitor's part of a grow run: when does it end a volume's general migration? Only once
 * md shows the new member count with no reshape pending, and for a raid0 volume (reshaped as
 * raid4 with an empty parity slot) only at n + 1 raid4 disks or n raid0 disks: right after
 * the takeover of a raid0 2->3, raid4 also has 3 disks and must not count as done.
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { type ArrayView, decideArray } from "../../../core/monitor/decide.ts";
import { beginMigration } from "../../../meta/imsm/edit/migration.ts";
import { markDirty } from "../../../meta/imsm/edit/state.ts";

function view(mdLevel: string, value: number, old: number | null, reshaping = false): ArrayView {
  return {
    arrayState: "active",
    syncAction: reshaping ? "reshape" : "frozen",
    syncCompleted: null,
    resyncStart: "none",
    blocked: true,
    members: [],
    reshapePosition: reshaping ? 0n : "none",
    raidDisks: { value, old },
    mdLevel,
    sawReshape: true,
  };
}

function ends(d: ReturnType<typeof decideArray>): boolean {
  return d.steps.some((s) => s.kind === "edit" && s.why === "reshape finished");
}

Deno.test("grow run: the monitor ends a raid0 2->3 migration only when md is really done", async () => {
  const s = await setup({ level: 0, members: 2, spares: 1, clean: true });
  const c = beginMigration(s.model.container, 0, { kind: "grow-disks", newDisks: ["/dev/vdc"] });
  const serial = () => null;
  assert.equal(ends(decideArray(c, 0, view("raid0", 2, null), serial)), false); // not taken over
  assert.equal(ends(decideArray(c, 0, view("raid4", 3, null), serial)), false); // just taken over
  assert.equal(ends(decideArray(c, 0, view("raid4", 4, 3), serial)), false); // raid_disks raised
  assert.equal(ends(decideArray(c, 0, view("raid4", 4, 3, true), serial)), false); // reshaping
  assert.equal(ends(decideArray(c, 0, view("raid4", 4, null), serial)), true); // done
  assert.equal(ends(decideArray(c, 0, view("raid0", 3, null), serial)), true); // back to raid0
  // the same md state, but never seen reshaping: md has not started yet
  const early = { ...view("raid4", 4, null), sawReshape: false };
  assert.equal(ends(decideArray(c, 0, early, serial)), false);
});

Deno.test("grow run: the monitor ends a raid5 3->4 migration only when md is really done", async () => {
  const s = await setup({ level: 5, members: 3, spares: 1, clean: true });
  const c = beginMigration(s.model.container, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  const serial = () => null;
  assert.equal(ends(decideArray(c, 0, view("raid5", 3, null), serial)), false);
  assert.equal(ends(decideArray(c, 0, view("raid5", 4, 3), serial)), false);
  assert.equal(ends(decideArray(c, 0, view("raid5", 4, 3, true), serial)), false);
  assert.equal(ends(decideArray(c, 0, view("raid5", 4, null), serial)), true);
  // not migrating: nothing to end
  assert.equal(ends(decideArray(s.model.container, 0, view("raid5", 4, null), serial)), false);
});

Deno.test("grow run: a raid0 volume running as raid4 gets its write-pending answered", async () => {
  const s = await setup({ level: 0, members: 2, spares: 1, clean: true });
  const c = s.model.container;
  const v = { ...view("raid4", 4, null), arrayState: "write-pending" as const };
  const d = decideArray(c, 0, v, () => null);
  assert.ok(
    d.steps.some((x) =>
      x.kind === "sysfs" && x.write.kind === "array-state" && x.write.value === "active"
    ),
  );
  // as raid0 again: nothing for the monitor to do
  const r0 = { ...view("raid0", 3, null), arrayState: "write-pending" as const };
  assert.equal(decideArray(c, 0, r0, () => null).steps.length, 0);
});

Deno.test("grow run: a raid0 volume back at raid0 with the dirty flag of its raid4 time is marked clean", async () => {
  const s = await setup({ level: 0, members: 2, spares: 1, clean: true });
  const dirty = markDirty(s.model.container, 0);
  const r0 = { ...view("raid0", 3, null), arrayState: "clean" as const };
  const d = decideArray(dirty, 0, r0, () => null);
  const edit = d.steps.find((x) => x.kind === "edit" && x.why === "raid0 has no redundancy");
  assert.ok(edit && edit.kind === "edit", JSON.stringify(d.steps));
  assert.equal(edit.edit(dirty).mpb.volumes[0].dirty, 0);
  // still migrating (the grow has not ended it): the flag is left to the migration's end
  const migrating = markDirty(
    beginMigration(s.model.container, 0, { kind: "grow-disks", newDisks: ["/dev/vdc"] }),
    0,
  );
  const steps = decideArray(migrating, 0, r0, () => null).steps;
  assert.ok(!steps.some((x) => x.kind === "edit" && x.why === "raid0 has no redundancy"));
});
