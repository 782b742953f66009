/** Runs a CI-sized slice of the IMSM fuzzer (tests/fuzz/imsm_fuzz.ts). */
import assert from "node:assert/strict";
import { runFuzz } from "../../fuzz/imsm_fuzz.ts";

Deno.test("imsm fuzz: 2,000 seeded mutations parse or fail with ImsmFormatError", () => {
  const s = runFuzz({ cases: 2000, seed: 7 });
  assert.deepEqual(s.failureSamples, []);
  assert.equal(s.failures, 0);
  assert.equal(s.cases, 2000);
  // The mutations must reach both outcomes and several distinct checks.
  assert.ok(s.parsedOk > 100, `parsed ${s.parsedOk}`);
  assert.ok(Object.keys(s.rejected).length >= 6, JSON.stringify(s.rejected));
});
