/** The one error type the IMSM reader throws for bad on-disk bytes. */

/** Why an MPB or migration record was rejected (stable, used by tests and the fuzzer). */
export type ImsmFormatErrorCode =
  | "too-small" // device or buffer too short to hold what is needed
  | "bad-signature"
  | "bad-checksum"
  | "out-of-range" // a size, count or offset outside what the format allows
  | "overrun" // a table runs past the end of the MPB
  | "bad-ord" // a disk_ord_tbl entry names a disk that is not in the table
  | "unknown-value" // a level, state or type this reader does not know
  | "bad-bbm-log";

export interface ImsmFormatErrorFields {
  code: ImsmFormatErrorCode;
  device: string;
  /** C structure name, e.g. "imsm_super", "imsm_map", "migr_record". */
  structure: string;
  /** Field name as in the model, possibly qualified, e.g. "volumes[0].maps[1].ord[2]". */
  field: string;
  /** The offending value. */
  value: number | bigint | string;
  /** What the user can do about it. */
  hint: string;
  /** Short description of the rule that failed. */
  problem: string;
}

export class ImsmFormatError extends Error implements ImsmFormatErrorFields {
  readonly code: ImsmFormatErrorCode;
  readonly device: string;
  readonly structure: string;
  readonly field: string;
  readonly value: number | bigint | string;
  readonly hint: string;
  readonly problem: string;

  constructor(f: ImsmFormatErrorFields) {
    super(
      `${f.device}: IMSM ${f.structure}.${f.field} = ${
        formatValue(f.value)
      }: ${f.problem} (${f.hint})`,
    );
    this.name = "ImsmFormatError";
    this.code = f.code;
    this.device = f.device;
    this.structure = f.structure;
    this.field = f.field;
    this.value = f.value;
    this.hint = f.hint;
    this.problem = f.problem;
  }
}

function formatValue(v: number | bigint | string): string {
  if (typeof v === "string") return JSON.stringify(v);
  return `${v} (0x${v.toString(16)})`;
}

export const HINT_NOT_IMSM =
  "the device carries no IMSM metadata or it is damaged; check the device name, or zero the superblock if it is stale";
export const HINT_CORRUPT =
  "the metadata on this device is damaged; examine the other members of the container, which may hold a good copy";
