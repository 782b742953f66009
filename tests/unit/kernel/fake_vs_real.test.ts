// The FakeKernel replays the scenarios of tests/vm/guest/kernel_fake_compare.ts and must read,
// after every step, what the real Linux 6.1 kernel read in the VM (values recorded in
// tests/fixtures/kernel/vm_compare_*.json by that probe).
import assert from "node:assert/strict";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import { diff, runStep, SCENARIOS, snapshot } from "../../vm/guest/kernel_fake_compare.ts";

interface Recorded {
  scenario: string;
  devnm: string;
  disks: string[];
  steps: { step: string; result: string; real: Record<string, string | null> }[];
}

for (const name of ["raid1", "reshape"]) {
  Deno.test(`fake matches the real kernel's recorded ${name} sequence`, async () => {
    const rec: Recorded = JSON.parse(
      await Deno.readTextFile(
        new URL(`../../fixtures/kernel/vm_compare_${name}.json`, import.meta.url),
      ),
    );
    const k = new FakeKernel();
    rec.disks.forEach((d, i) =>
      k.addDisk({ name: d, sizeBytes: 64 << 20, majMin: `253:${16 * i}` })
    );
    await k.createArray(rec.devnm);
    const steps = SCENARIOS[rec.scenario].steps(rec.disks);
    assert.equal(steps.length + 1, rec.steps.length, "fixture and scenario have the same steps");
    assert.deepEqual(diff(rec.steps[0].real, await snapshot(k, rec.devnm, rec.disks)), []);
    for (const [i, step] of steps.entries()) {
      const r = rec.steps[i + 1];
      assert.equal(step.name, r.step);
      const result = await runStep(step, k, rec.devnm);
      assert.equal(result, r.result, `result of ${step.name}`);
      if (step.racy) continue; // the real sync thread moved on by itself here
      const d = diff(r.real, await snapshot(k, rec.devnm, rec.disks));
      assert.deepEqual(d, [], `after ${step.name}`);
    }
  });
}
