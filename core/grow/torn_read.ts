/**
 * Reading the container while the monitor rewrites it: an MPB goes down in two writes, so a
 * read can see a torn copy (the crash matrix saw a checksum mismatch on one disk stop a
 * resumed grow at its second volume). Such a read is retried; metadata still unreadable
 * after TORN_READ_ATTEMPTS reads is an error.
 */
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import { ImsmFormatError } from "../../meta/imsm/errors.ts";

export const TORN_READ_ATTEMPTS = 10;

export interface TornReadRetry {
  sleep(ms: number): Promise<void>;
  pollMs: number;
  log(message: string): void;
}

export async function loadPastTornReads(
  load: () => Promise<ImsmContainer>,
  retry: TornReadRetry,
): Promise<ImsmContainer> {
  for (let attempt = 1;; attempt++) {
    try {
      return await load();
    } catch (e) {
      if (!(e instanceof ImsmFormatError) || attempt >= TORN_READ_ATTEMPTS) throw e;
      retry.log(`metadata read ${attempt} failed (${e.message}); reading again`);
      await retry.sleep(retry.pollMs);
    }
  }
}
