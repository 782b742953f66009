/** Retrying operations that fail with EBUSY only because udev has a device open for a moment. */
import { isErrno } from "../errno.ts";

/** Runs `op` until it does not fail with EBUSY, for at most `timeoutMs` (then rethrows). */
export async function retryWhileBusy<T>(
  op: () => T | Promise<T>,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (e) {
      if (!isErrno(e, "EBUSY") || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
