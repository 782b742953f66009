/**
 * THE write seam: every disk write of mdts passes through a WriteSeam, which adds
 *  - dry-run: record and print what would be written, touch nothing;
 *  - a write log (MDTS_WRITE_LOG=path): one line per write;
 *  - fault injection (MDTS_FAULT): fail, hang, exit or signal-and-hang at one exact write,
 *    so that tests can cut the power at a chosen point of a reshape.
 */
import { createHash } from "node:crypto";
import type { BlockWriter, WritePurpose, WriteRequest } from "../core/ports.ts";
import { KernelError } from "./errno.ts";

export type FaultAction = "fail" | "hang" | "exit" | "signal";

/**
 * A parsed MDTS_FAULT rule: the (after+1)-th write matching purpose/device/volume/unit
 * triggers `action`.
 */
export interface FaultRule {
  purpose: WritePurpose | "*";
  device: string | null;
  /** Only reshape writes of this volume (by name). */
  volume: string | null;
  /** Only reshape writes at or past this migration unit (a window may skip a unit). */
  unit: number | null;
  after: number;
  action: FaultAction;
  /** Trigger before the write reaches the disk, or after it (and its flush) completed. */
  when: "before" | "after";
  /** Exit status for action=exit. */
  exitCode: number;
}

const PURPOSES: ReadonlyArray<WritePurpose | "*"> = [
  "metadata",
  "migration-record",
  "copy-area",
  "restore",
  "zero-superblock",
  "data",
  "other",
  "*",
];
const ACTIONS: ReadonlyArray<FaultAction> = ["fail", "hang", "exit", "signal"];

/**
 * Parses `purpose=migration-record,after=3,action=fail` (keys: purpose, device, volume, unit,
 * after, action, when=before|after, code=N). Throws on unknown keys or values so a typo cannot silently
 * disable a crash test.
 */
export function parseFaultRule(text: string): FaultRule {
  const rule: FaultRule = {
    purpose: "*",
    device: null,
    volume: null,
    unit: null,
    after: 0,
    action: "fail",
    when: "before",
    exitCode: 99,
  };
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`MDTS_FAULT: "${part}" is not key=value (in "${text}")`);
    const key = part.slice(0, eq), value = part.slice(eq + 1);
    switch (key) {
      case "purpose":
        if (!PURPOSES.includes(value as WritePurpose)) {
          throw new Error(`MDTS_FAULT: unknown purpose "${value}"; use one of ${PURPOSES}`);
        }
        rule.purpose = value as WritePurpose | "*";
        break;
      case "device":
        rule.device = value;
        break;
      case "volume":
        rule.volume = value;
        break;
      case "after":
      case "unit":
      case "code": {
        if (!/^\d+$/.test(value)) throw new Error(`MDTS_FAULT: ${key}=${value} is not a number`);
        if (key === "after") rule.after = Number(value);
        else if (key === "unit") rule.unit = Number(value);
        else rule.exitCode = Number(value);
        break;
      }
      case "action":
        if (!ACTIONS.includes(value as FaultAction)) {
          throw new Error(`MDTS_FAULT: unknown action "${value}"; use one of ${ACTIONS}`);
        }
        rule.action = value as FaultAction;
        break;
      case "when":
        if (value !== "before" && value !== "after") {
          throw new Error(`MDTS_FAULT: when=${value}; use before or after`);
        }
        rule.when = value;
        break;
      default:
        throw new Error(
          `MDTS_FAULT: unknown key "${key}"; keys are purpose, device, volume, unit, after, ` +
            `action, when, code`,
        );
    }
  }
  return rule;
}

/** What the seam saw: kept in memory (dry-run output, tests). */
export interface WriteRecord {
  time: Date;
  device: string;
  offset: bigint;
  length: number;
  purpose: WritePurpose;
  what: string;
  /** First 16 hex digits of the data's SHA-256. */
  sha256: string;
  performed: boolean;
}

export interface WriteSeamOptions {
  /** "real" passes writes on to `target`; "dry-run" only records and prints them. */
  mode: "real" | "dry-run";
  /** The raw writer that really writes (LinuxRawBlockWriter, or a fake device). */
  target: BlockWriter;
  /** Append one line per write to this file (MDTS_WRITE_LOG). */
  logPath?: string | null;
  fault?: FaultRule | null;
  /** File created by action=signal before hanging (MDTS_FAULT_MARKER). */
  faultMarker?: string | null;
  /** Where dry-run lines go. */
  print?: (line: string) => void;
  /** Test hooks; default to Deno.exit and an endless wait. */
  exit?: (code: number) => void;
  hang?: () => Promise<void>;
  now?: () => Date;
}

function sha256Prefix(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}

/** A promise that never settles but keeps the process alive (a bare pending promise would not). */
function hangForever(): Promise<void> {
  return new Promise(() => {
    setInterval(() => {}, 1 << 30);
  });
}

export class WriteSeam implements BlockWriter {
  readonly records: WriteRecord[] = [];
  #o: WriteSeamOptions;
  #matched = 0;
  #fired = false;

  constructor(options: WriteSeamOptions) {
    this.#o = options;
  }

  get mode(): "real" | "dry-run" {
    return this.#o.mode;
  }

  async write(req: WriteRequest): Promise<void> {
    const record: WriteRecord = {
      time: this.#o.now?.() ?? new Date(),
      device: req.device,
      offset: req.offset,
      length: req.data.length,
      purpose: req.purpose,
      what: req.what,
      sha256: sha256Prefix(req.data),
      performed: this.#o.mode === "real",
    };
    const trigger = this.#faultTriggers(req);
    if (trigger && this.#o.fault!.when === "before") await this.#fire(req);
    this.records.push(record);
    this.#log(record);
    if (this.#o.mode === "dry-run") {
      this.#o.print?.(
        `dry-run: would write ${record.length} bytes at offset ${record.offset} of ` +
          `${record.device} (${record.purpose}: ${record.what}) sha256 ${record.sha256}`,
      );
      return;
    }
    await this.#o.target.write(req);
    if (trigger && this.#o.fault!.when === "after") {
      await this.#o.target.flush(req.device);
      await this.#fire(req);
    }
  }

  async flush(device: string): Promise<void> {
    if (this.#o.mode === "dry-run") return;
    await this.#o.target.flush(device);
  }

  #faultTriggers(req: WriteRequest): boolean {
    const f = this.#o.fault;
    if (!f || this.#fired) return false;
    if (f.purpose !== "*" && f.purpose !== req.purpose) return false;
    if (f.device !== null && f.device !== req.device) return false;
    if (f.volume !== null && req.reshapeAt?.volume !== f.volume) return false;
    if (f.unit !== null && (req.reshapeAt === undefined || req.reshapeAt.unit < f.unit)) {
      return false;
    }
    this.#matched++;
    if (this.#matched <= f.after) return false;
    this.#fired = true;
    return true;
  }

  async #fire(req: WriteRequest): Promise<void> {
    const f = this.#o.fault!;
    const where = `${req.purpose} write #${this.#matched} (${req.what}) to ${req.device}`;
    this.#logLine(`FAULT ${f.action} ${f.when} ${where}`);
    switch (f.action) {
      case "fail":
        throw new KernelError(
          5,
          `writing ${req.data.length} bytes at offset ${req.offset} of`,
          req.device,
          `injected by MDTS_FAULT at ${req.purpose} write #${this.#matched}`,
        );
      case "exit":
        (this.#o.exit ?? Deno.exit)(f.exitCode);
        return;
      case "signal":
        if (this.#o.faultMarker) {
          await Deno.writeTextFile(this.#o.faultMarker, `${where}\n`);
        }
        await (this.#o.hang ?? hangForever)();
        return;
      case "hang":
        await (this.#o.hang ?? hangForever)();
        return;
    }
  }

  #log(r: WriteRecord): void {
    this.#logLine(
      [
        r.performed ? "write" : "dry-run",
        r.device,
        r.offset,
        r.length,
        r.purpose,
        r.sha256,
        JSON.stringify(r.what),
      ].join("\t"),
      r.time,
    );
  }

  #logLine(text: string, time: Date = this.#o.now?.() ?? new Date()): void {
    if (!this.#o.logPath) return;
    // Synchronous append: the line must be on disk before a crash test cuts the power.
    Deno.writeTextFileSync(this.#o.logPath, `${time.toISOString()}\t${text}\n`, { append: true });
  }
}

/**
 * The seam configured from the environment: MDTS_WRITE_LOG, MDTS_FAULT, MDTS_FAULT_MARKER.
 * `dryRun` comes from the command line.
 */
export function writeSeamFromEnv(
  target: BlockWriter,
  dryRun: boolean,
  env: (key: string) => string | undefined = (k) => Deno.env.get(k),
  print: (line: string) => void = (l) => console.log(l),
): WriteSeam {
  const faultText = env("MDTS_FAULT");
  return new WriteSeam({
    mode: dryRun ? "dry-run" : "real",
    target,
    logPath: env("MDTS_WRITE_LOG") ?? null,
    fault: faultText ? parseFaultRule(faultText) : null,
    faultMarker: env("MDTS_FAULT_MARKER") ?? null,
    print,
  });
}
