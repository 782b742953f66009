/**
 * More container OCE shapes by mdts on a real kernel, judged by the real mdadm 4.2 (see
 * grow_oce_scenario.ts): one boot, four containers on separate disks: raid0 + raid5 3->4 and
 * raid0 + raid0 2->4 (two volumes grown in metadata order), raid5 3->5, raid0 2->4.
 */
import { runScenarios } from "./grow_oce_scenario.ts";

Deno.test("vm: mdts grows IMSM containers online (raid0+raid5 3->4, raid0+raid0 2->4, raid5 3->5, raid0 2->4), data intact, mdadm agrees", async () => {
  await runScenarios("grow-oce-more", [
    { name: "r05", disks: 4, members: 3, grow: 4, levels: [0, 5] },
    { name: "r00", disks: 4, members: 2, grow: 4, levels: [0, 0] },
    { name: "r5b", disks: 5, members: 3, grow: 5, levels: [5] },
    { name: "r0c", disks: 4, members: 2, grow: 4, levels: [0] },
  ]);
});
