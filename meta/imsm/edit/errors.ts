/** The one error type the IMSM metadata editor throws when a requested change is refused. */

export type ImsmEditErrorCode =
  | "too-many-volumes" // the container already holds the 2 volumes IMSM allows
  | "no-space" // the volume does not fit in the largest common free region
  | "disk-too-small" // a disk cannot hold even the metadata reservation
  | "bad-geometry" // level / member count combination IMSM does not support
  | "bad-chunk" // chunk size not a power of two in the supported range
  | "bad-size" // size request that rounds to nothing
  | "bad-name" // volume name empty, too long or already used
  | "unknown-disk" // a serial or index that names no disk of the container
  | "disk-in-use" // the disk is already a member / used twice
  | "sector-size-mismatch" // disks of different logical sector sizes in one container
  | "bad-state" // the volume is not in the state the operation needs (e.g. not migrating)
  | "unsupported"; // a change mdadm 4.2 does not make (e.g. shrinking on OCE)

export interface ImsmEditErrorFields {
  code: ImsmEditErrorCode;
  /** What the change was applied to, e.g. "volume vol0", "disk /dev/vdb", "container". */
  subject: string;
  /** Structure/field concerned, e.g. "imsm_map.num_members". */
  field: string;
  value: number | bigint | string;
  /** The rule that failed. */
  problem: string;
  /** What the user can do instead. */
  hint: string;
}

export class ImsmEditError extends Error implements ImsmEditErrorFields {
  readonly code: ImsmEditErrorCode;
  readonly subject: string;
  readonly field: string;
  readonly value: number | bigint | string;
  readonly problem: string;
  readonly hint: string;

  constructor(f: ImsmEditErrorFields) {
    const v = typeof f.value === "string" ? JSON.stringify(f.value) : String(f.value);
    super(`${f.subject}: IMSM ${f.field} = ${v}: ${f.problem} (${f.hint})`);
    this.name = "ImsmEditError";
    this.code = f.code;
    this.subject = f.subject;
    this.field = f.field;
    this.value = f.value;
    this.problem = f.problem;
    this.hint = f.hint;
  }
}
