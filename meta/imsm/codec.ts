/**
 * Generic little-endian struct codec driven by the layouts of layout.ts: the same field
 * list is used to decode and to encode, so the two directions cannot disagree.
 */
import type { FieldKind, FieldSpec, StructLayout } from "./layout.ts";

const KIND_WIDTH: Record<Exclude<FieldKind, "bytes">, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
};

/** Decodes `layout.size` bytes at `offset`; the caller guarantees they exist. */
export function decodeStruct<T>(layout: StructLayout<T>, bytes: Uint8Array, offset = 0): T {
  if (offset < 0 || offset + layout.size > bytes.length) {
    // Callers bound-check first with a precise error; this is the last line of defence.
    throw new RangeError(
      `${layout.structure}: ${layout.size} bytes at ${offset} exceed buffer of ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, layout.size);
  const out: Record<string, unknown> = {};
  for (const f of layout.fields) out[f.name] = readField(view, f);
  return out as T;
}

/** Encodes `value` into `out` at `offset` (exactly `layout.size` bytes are written). */
export function encodeStruct<T>(
  layout: StructLayout<T>,
  value: T,
  out: Uint8Array,
  offset = 0,
): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, layout.size);
  const rec = value as Record<string, unknown>;
  for (const f of layout.fields) writeField(view, f, rec[f.name], layout.structure);
}

/** Encodes into a fresh buffer of `layout.size` bytes. */
export function encodeStructToBytes<T>(layout: StructLayout<T>, value: T): Uint8Array {
  const out = new Uint8Array(layout.size);
  encodeStruct(layout, value, out, 0);
  return out;
}

function readField(view: DataView, f: FieldSpec): number | bigint | Uint8Array {
  switch (f.kind) {
    case "u8":
      return view.getUint8(f.offset);
    case "u16":
      return view.getUint16(f.offset, true);
    case "u32":
      return view.getUint32(f.offset, true);
    case "u64":
      return view.getBigUint64(f.offset, true);
    case "bytes":
      // A copy: the model must not alias the caller's buffer.
      return new Uint8Array(view.buffer.slice(
        view.byteOffset + f.offset,
        view.byteOffset + f.offset + f.width,
      ));
  }
}

function writeField(view: DataView, f: FieldSpec, v: unknown, structure: string): void {
  const bad = (what: string) =>
    new TypeError(`${structure}.${f.name}: ${what} (got ${typeof v} ${String(v)})`);
  if (f.kind === "bytes") {
    if (!(v instanceof Uint8Array) || v.length !== f.width) {
      throw bad(`expected Uint8Array of ${f.width} bytes`);
    }
    new Uint8Array(view.buffer, view.byteOffset + f.offset, f.width).set(v);
    return;
  }
  if (f.kind === "u64") {
    if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) {
      throw bad("expected bigint in u64 range");
    }
    view.setBigUint64(f.offset, v, true);
    return;
  }
  const max = 2 ** (8 * KIND_WIDTH[f.kind]) - 1;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw bad(`expected integer 0..${max}`);
  }
  if (f.kind === "u8") view.setUint8(f.offset, v);
  else if (f.kind === "u16") view.setUint16(f.offset, v, true);
  else view.setUint32(f.offset, v, true);
}

/**
 * Checks that a layout's fields tile [0, size) exactly, in order, and that each width
 * matches its kind. Returns the problems found (empty when the layout is sound).
 */
export function layoutProblems(layout: StructLayout<unknown>): string[] {
  const problems: string[] = [];
  let next = 0;
  const names = new Set<string>();
  for (const f of layout.fields) {
    if (names.has(f.name)) problems.push(`${f.name}: duplicate name`);
    names.add(f.name);
    if (f.offset !== next) problems.push(`${f.name}: offset ${f.offset}, expected ${next}`);
    if (f.kind !== "bytes" && KIND_WIDTH[f.kind] !== f.width) {
      problems.push(`${f.name}: width ${f.width} does not match kind ${f.kind}`);
    }
    if (f.width <= 0) problems.push(`${f.name}: width ${f.width}`);
    next = f.offset + f.width;
  }
  if (next !== layout.size) problems.push(`fields end at ${next}, size is ${layout.size}`);
  return problems.map((p) => `${layout.structure}: ${p}`);
}
