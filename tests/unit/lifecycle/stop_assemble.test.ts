/**
 * Stop and assemble over the FakeKernel: volumes stop before their container, the map file
 * and links follow, and assembly (named or --scan) writes the assembly sequence of trace 10.
 */
import assert from "node:assert/strict";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import { create } from "../../../core/lifecycle/create.ts";
import { stopAll, stopDevices } from "../../../core/lifecycle/stop.ts";
import { assemble } from "../../../core/lifecycle/assemble_run.ts";
import { incremental } from "../../../core/lifecycle/incremental.ts";
import { runningArrays } from "../../../core/model.ts";
import { KernelError } from "../../../kernel/errno.ts";
import { FakeHost, recordSysfs } from "./fake_host.ts";

const MiB = 1024 * 1024;
const base = { run: true, force: false, assumeClean: false };

async function scene() {
  const kernel = new FakeKernel(["vda", "vdb"].map((name) => ({ name, sizeBytes: 32 * MiB })));
  const host = new FakeHost(kernel);
  await create(kernel, host, {
    ...base,
    device: "/dev/md/imsm0",
    members: ["/dev/vda", "/dev/vdb"],
    metadata: "imsm",
  });
  await create(kernel, host, {
    ...base,
    device: "/dev/md/v1",
    members: ["/dev/md/imsm0"],
    level: 1,
    raidDevices: 2,
    sizeKiB: 4096,
  });
  return { kernel, host };
}

Deno.test("stop: the container refuses while its volume runs; --scan stops volume then container", async () => {
  const { kernel, host } = await scene();
  const refused = await stopDevices(kernel, host, ["/dev/md/imsm0"]);
  assert.equal(refused.status, 1);
  assert.match(refused.messages[0], /Cannot stop container .*member md126 still active/);
  const r = await stopAll(kernel, host);
  assert.deepEqual(r.messages, ["stopped /dev/md/v1", "stopped /dev/md/imsm0"]);
  assert.equal((await runningArrays(kernel)).length, 0);
  assert.equal(host.map, "");
  assert.equal(host.links.size, 0);
});

Deno.test("stop --scan waits for the monitor to let go of the container (seconds on a slow machine)", async () => {
  const { kernel, host } = await scene();
  const realStop = kernel.stopArray.bind(kernel);
  let refusals = 0;
  // the container stays busy for 10 s (50 retries): longer than mdadm's 5 s, as a loaded VM showed
  kernel.stopArray = (devnm: string) => {
    if (devnm === "md127" && refusals < 50) {
      refusals++;
      return Promise.reject(new KernelError(16, "stopping", `/dev/${devnm}`));
    }
    return realStop(devnm);
  };
  const r = await stopAll(kernel, host);
  assert.equal(r.status, 0, r.messages.join("\n"));
  assert.equal(refusals, 50);
  assert.equal((await runningArrays(kernel)).length, 0);
});

Deno.test("stop: a container that stays busy is refused with mdadm's message, and kept in the map", async () => {
  const { kernel, host } = await scene();
  const realStop = kernel.stopArray.bind(kernel);
  kernel.stopArray = (devnm: string) =>
    devnm === "md127"
      ? Promise.reject(new KernelError(16, "stopping", `/dev/${devnm}`))
      : realStop(devnm);
  const r = await stopAll(kernel, host);
  assert.equal(r.status, 1);
  assert.match(r.messages[1], /^Cannot get exclusive access to \/dev\/md\/imsm0:/);
  assert.match(host.map ?? "", /^md127 /m);
});

Deno.test("assemble --scan brings back the container, then the volume with the assembly sequence", async () => {
  const { kernel, host } = await scene();
  await stopAll(kernel, host);
  const log = recordSysfs(kernel);
  const r = await assemble(kernel, host, { arrays: [], members: [], scan: true, run: false });
  assert.equal(r.status, 0, r.messages.join("\n"));
  assert.match(r.messages[0], /^Container \/dev\/md\/imsm0 has been assembled with 2 drives$/);
  assert.match(r.messages[1], /^Started \/dev\/md\/v1 with 2 devices$/);
  const vol = log.filter((l) => l.startsWith("md126/"));
  // slot 1 first, then slot 0 (descending, as trace 10), each: new_dev offset size insync slot recovery_start external_bbl
  const members = vol.filter((l) => /new_dev|dev-/.test(l)).map((l) => l.replace(/^md126\//, ""));
  assert.equal(members.length, 14);
  assert.deepEqual(members.slice(3, 7).map((l) => l.split("=")[0].split("/").pop()), [
    "state",
    "slot",
    "recovery_start",
    "state",
  ]);
  assert.ok(members[3].endsWith("=insync"));
  assert.ok(members[4].endsWith("=1"));
  // no monitor ran in the fake: the metadata still says "initializing", so the resync restarts
  assert.ok(vol.includes("md126/resync_start=0"));
  assert.ok(vol.includes("md126/array_state=readonly"));
  const arrays = await runningArrays(kernel);
  assert.equal(arrays.length, 2);
});

Deno.test("incremental: the first disk starts the container, the second completes it and starts the volume", async () => {
  const { kernel, host } = await scene();
  await stopAll(kernel, host);
  const first = await incremental(kernel, host, "/dev/vdb", false);
  assert.ok(first.exportLines.includes("MD_STARTED=no"), first.exportLines.join(","));
  assert.ok(first.exportLines.includes("MD_DEVNAME=imsm0"));
  assert.equal((await runningArrays(kernel)).filter((a) => a.kind === "volume").length, 0);
  const second = await incremental(kernel, host, "/dev/vda", false);
  assert.ok(second.exportLines.includes("MD_STARTED=yes"), second.exportLines.join(","));
  const arrays = await runningArrays(kernel);
  assert.equal(arrays.filter((a) => a.kind === "volume").length, 1);
  assert.equal(arrays.find((a) => a.kind === "container")!.members.length, 2);
});

Deno.test("assemble --scan: a raid1 made from one disk + missing comes back degraded with its disk in slot 0 (the placeholder has no device)", async () => {
  const kernel = new FakeKernel([{ name: "vda", sizeBytes: 32 * MiB }]);
  const host = new FakeHost(kernel);
  await create(kernel, host, {
    ...base,
    force: true,
    device: "/dev/md/one",
    members: ["/dev/vda"],
    metadata: "imsm",
    raidDevices: 1,
  });
  await create(kernel, host, {
    ...base,
    device: "/dev/md/half",
    members: ["/dev/vda", "missing"],
    level: 1,
    raidDevices: 2,
    sizeKiB: 4096,
  });
  await stopAll(kernel, host);
  const log = recordSysfs(kernel);
  const r = await assemble(kernel, host, { arrays: [], members: [], scan: true, run: false });
  assert.equal(r.status, 0, r.messages.join("\n"));
  // mdadm 4.2 says "1 drive" (no plural for one)
  assert.match(r.messages[0], /^Container \/dev\/md\/\S+ has been assembled with 1 drive$/);
  assert.match(r.messages[1], /^Started \/dev\/md\/half with 1 device$/);
  assert.ok(log.includes("md126/raid_disks=2"), log.join("\n"));
  assert.ok(log.includes("md126/dev-vda/slot=0"));
  assert.equal(await kernel.array("md126").degraded(), 1);
});
