/**
 * The string-level port to md's sysfs: what a real /sys and the FakeKernel both provide.
 * Paths are relative to an array's md directory: "array_state", "dev-vda/slot".
 * The typed layer (sysfs.ts) sits on top of this, so both implementations share it.
 */

/** Result of one wait on watched attributes. */
export interface WatchResult {
  /** True when the timeout passed without any notification. */
  timedOut: boolean;
  /** Paths whose text differs from the value seen at the previous read. */
  changed: string[];
  /** Current text of every watched path (null: the file vanished). */
  values: Map<string, string | null>;
}

/** Watches attributes of one md device like mdmon does: arm by reading, wait, re-read. */
export interface AttributeWatcher {
  wait(timeoutMs: number): Promise<WatchResult>;
  close(): void;
}

export interface MdAttributeStore {
  /** Text of an attribute without the trailing newline; null when the file does not exist. */
  read(devnm: string, path: string): Promise<string | null>;
  /** One write() of the whole value; throws a KernelError (EBUSY, EINVAL, EAGAIN...). */
  write(devnm: string, path: string, value: string): Promise<void>;
  /** Kernel names of the components (NAME of every dev-NAME directory). */
  memberNames(devnm: string): Promise<string[]>;
  /** md devices that exist (have an md directory), e.g. ["md126", "md127"]. */
  arrays(): Promise<string[]>;
  /** Creates an empty md device named `devnm` (new_array). */
  createArray(devnm: string): Promise<void>;
  /** "MAJ:MIN" of a block device by kernel name (e.g. "vda" -> "254:0"); null if unknown. */
  blockDevNumber(name: string): Promise<string | null>;
  /** Starts watching attributes of one md device (armed by an initial read). */
  watch(devnm: string, paths: string[]): Promise<AttributeWatcher>;
}
