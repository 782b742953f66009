/**
 * A GNU getopt_long work-alike in "return operands in order" mode (an optstring starting with
 * '-'), which is how mdadm and mdmon read their arguments. The short-option spec is passed to
 * every `next` call because mdadm switches it once the mode is known (-b, -a, -k change meaning).
 * Error texts are glibc's, without the program prefix.
 */

export type ArgKind = "none" | "required" | "optional";

export interface LongOption {
  name: string;
  arg: ArgKind;
  /** What the option means; long options that are synonyms of a short one share its letter. */
  key: string;
}

export type ShortSpec = ReadonlyMap<string, ArgKind>;

export type GetoptEvent =
  | {
    kind: "option";
    key: string;
    /** How error messages name it: "-n", or "--raid-devices" (the table name, not the prefix typed). */
    display: string;
    long: boolean;
    arg?: string;
  }
  | { kind: "operand"; value: string }
  | { kind: "error"; message: string }
  | { kind: "end" };

/** Reads a getopt optstring ("ab:c::") into a spec; a leading '-' or '+' is a mode flag. */
export function shortSpec(optstring: string): ShortSpec {
  const spec = new Map<string, ArgKind>();
  const s = optstring.replace(/^[-+]/, "");
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    let kind: ArgKind = "none";
    if (s[i + 1] === ":") {
      kind = s[i + 2] === ":" ? "optional" : "required";
      i += kind === "optional" ? 2 : 1;
    }
    // A letter listed twice keeps its first meaning, as getopt scans left to right.
    if (!spec.has(c)) spec.set(c, kind);
  }
  return spec;
}

export class Getopt {
  private index = 0;
  /** Position inside a cluster of short options ("-vvq"); 0 when not in one. */
  private clusterPos = 0;
  /** Arguments after "--": mdadm ignores them, mdmon (which permutes) treats them as operands. */
  afterDashDash: readonly string[] = [];

  constructor(
    private readonly args: readonly string[],
    private readonly longs: readonly LongOption[],
  ) {}

  next(shorts: ShortSpec): GetoptEvent {
    if (this.clusterPos > 0) return this.nextShort(shorts);
    if (this.index >= this.args.length) return { kind: "end" };
    const a = this.args[this.index];
    if (a === "--") {
      this.afterDashDash = this.args.slice(this.index + 1);
      this.index = this.args.length;
      return { kind: "end" };
    }
    if (a.startsWith("--")) {
      this.index++;
      return this.nextLong(a.slice(2));
    }
    if (a.startsWith("-") && a.length > 1) {
      this.clusterPos = 1;
      return this.nextShort(shorts);
    }
    this.index++;
    return { kind: "operand", value: a };
  }

  private nextLong(text: string): GetoptEvent {
    const eq = text.indexOf("=");
    const name = eq >= 0 ? text.slice(0, eq) : text;
    const inline = eq >= 0 ? text.slice(eq + 1) : undefined;
    const found = this.lookupLong(name, text);
    if ("message" in found) return { kind: "error", message: found.message };
    const opt = found.option;
    const display = `--${opt.name}`;
    if (opt.arg === "none") {
      if (inline !== undefined) {
        return { kind: "error", message: `option '--${opt.name}' doesn't allow an argument` };
      }
      return { kind: "option", key: opt.key, display, long: true };
    }
    if (inline !== undefined) {
      return { kind: "option", key: opt.key, display, long: true, arg: inline };
    }
    if (opt.arg === "optional") return { kind: "option", key: opt.key, display, long: true };
    if (this.index >= this.args.length) {
      return { kind: "error", message: `option '--${opt.name}' requires an argument` };
    }
    const arg = this.args[this.index++];
    return { kind: "option", key: opt.key, display, long: true, arg };
  }

  /** Exact name first, then a unique prefix; prefixes naming the same thing are not ambiguous. */
  private lookupLong(name: string, typed: string): { option: LongOption } | { message: string } {
    const exact = this.longs.find((o) => o.name === name);
    if (exact) return { option: exact };
    const matches = this.longs.filter((o) => o.name.startsWith(name));
    if (matches.length === 0) return { message: `unrecognized option '--${typed}'` };
    const first = matches[0];
    const differing = matches.filter((o) => o.arg !== first.arg || o.key !== first.key);
    if (differing.length === 0) return { option: first };
    const listed = matches.filter((o) => o === first || differing.includes(o));
    const possibilities = listed.map((o) => `'--${o.name}'`).join(" ");
    return { message: `option '--${typed}' is ambiguous; possibilities: ${possibilities}` };
  }

  private nextShort(shorts: ShortSpec): GetoptEvent {
    const a = this.args[this.index];
    const c = a[this.clusterPos++];
    const atEnd = this.clusterPos >= a.length;
    const finishCluster = () => {
      this.clusterPos = 0;
      this.index++;
    };
    const kind = c === ":" ? undefined : shorts.get(c);
    if (kind === undefined) {
      if (atEnd) finishCluster();
      return { kind: "error", message: `invalid option -- '${c}'` };
    }
    const display = `-${c}`;
    if (kind === "none") {
      if (atEnd) finishCluster();
      return { kind: "option", key: c, display, long: false };
    }
    if (!atEnd) {
      const arg = a.slice(this.clusterPos);
      finishCluster();
      return { kind: "option", key: c, display, long: false, arg };
    }
    finishCluster();
    if (kind === "optional") return { kind: "option", key: c, display, long: false };
    if (this.index >= this.args.length) {
      return { kind: "error", message: `option requires an argument -- '${c}'` };
    }
    const arg = this.args[this.index++];
    return { kind: "option", key: c, display, long: false, arg };
  }
}
