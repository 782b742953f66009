import assert from "node:assert/strict";
import {
  errnoMessage,
  errnoName,
  errnoNumber,
  isErrno,
  KernelError,
} from "../../../kernel/errno.ts";

Deno.test("errno names and messages match Linux x86-64 numbering", () => {
  assert.equal(errnoName(2), "ENOENT");
  assert.equal(errnoName(16), "EBUSY");
  assert.equal(errnoName(11), "EAGAIN");
  assert.equal(errnoName(25), "ENOTTY");
  assert.equal(errnoName(19), "ENODEV");
  assert.equal(errnoName(35), "EDEADLK");
  assert.equal(errnoMessage(16), "Device or resource busy");
  assert.equal(errnoNumber("EINVAL"), 22);
  assert.equal(errnoNumber("EIO"), 5);
  assert.equal(errnoName(9999), "E9999");
  assert.equal(errnoMessage(9999), "Unknown error 9999");
});

Deno.test("every name maps back to its number", () => {
  for (let n = 1; n < 134; n++) {
    const name = errnoName(n);
    if (name.startsWith("E") && name !== `E${n}`) assert.equal(errnoNumber(name), n, name);
  }
});

Deno.test("KernelError reads like the errno name, operation, target and message", () => {
  const e = new KernelError(16, "opening", "/dev/vdb");
  assert.equal(e.message, "EBUSY opening /dev/vdb: Device or resource busy");
  assert.equal(e.code, "EBUSY");
  assert.ok(isErrno(e, "EBUSY"));
  assert.ok(!isErrno(e, "ENOENT"));
  assert.ok(!isErrno(new Error("x"), "EBUSY"));
  const h = new KernelError(5, "writing to", "/dev/vda", "injected");
  assert.equal(h.message, "EIO writing to /dev/vda: Input/output error (injected)");
});
