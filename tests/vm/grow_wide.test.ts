/**
 * A wide grow under reads, on a real kernel (see grow_oce_scenario.ts): raid0 5->6 pauses md
 * inside an old stripe row at the ends of units 0, 1 and 6 (no row border is safe there: md
 * would overwrite old data a redo reads). Reads of those rows wait for md to move on, and on
 * kernel 6.1 a suspend_lo/hi write during such a pause waits for them forever. mdts writes
 * the suspend range only where md is held on a row border (core/grow/window.ts windowChain),
 * so the grow finishes while a reader keeps hitting those rows.
 */
import { runScenarios } from "./grow_oce_scenario.ts";

Deno.test("vm: mdts grows raid0 5->6 while a reader hits the rows where md pauses, data intact, mdadm agrees", async () => {
  await runScenarios("grow-wide", [
    // md pauses inside a row at the unit ends 12288, 24576, 86016 sectors = 6, 12, 42 MiB
    { name: "r0w", disks: 6, members: 5, grow: 6, levels: [0], readAtMiB: [6, 12, 42] },
  ]);
});
