/** Shared bits of the guest-side kernel probes: JSON output with bigints, errors as data. */

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v, 1);
}

/** Prints the probe's result as the last line of stdout. */
export function emit(value: unknown): void {
  console.log(toJson(value));
}

/** Runs `f`, turning a failure into { error, code } so one failing read does not end the probe. */
export async function attempt<T>(
  f: () => Promise<T> | T,
): Promise<T | { error: string; code?: string }> {
  try {
    return await f();
  } catch (e) {
    return {
      error: e instanceof Error ? e.message : String(e),
      code: (e as { code?: string }).code,
    };
  }
}

/** A deterministic byte pattern: byte i of a block seeded s. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
