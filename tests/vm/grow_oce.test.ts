/**
 * Online Capacity Expansion by mdts on a real kernel, judged by the real mdadm 4.2 (see
 * grow_oce_scenario.ts): one boot, four containers on separate disks, grown one after the
 * other: raid0 2->3, raid5 3->4, raid0 3->4, and raid5 + raid0 3->5 (two volumes, the shape
 * of the trace in imsm-reshape.md: the monitor migrates the volumes in metadata order).
 */
import { runScenarios } from "./grow_oce_scenario.ts";

Deno.test("vm: mdts grows IMSM containers online (raid0 2->3, raid5 3->4, raid0 3->4, raid5+raid0 3->5), data intact, mdadm agrees", async () => {
  await runScenarios("grow-oce", [
    { name: "r0a", disks: 3, members: 2, grow: 3, levels: [0] },
    { name: "r5a", disks: 4, members: 3, grow: 4, levels: [5] },
    { name: "r0b", disks: 4, members: 3, grow: 4, levels: [0] },
    { name: "r50", disks: 5, members: 3, grow: 5, levels: [5, 0] },
  ]);
});
