/** MdAttributeStore over a real (or fake-tree) sysfs rooted at `root` (default /sys). */
import { errnoNumber, KernelError } from "../errno.ts";
import type { AttributeWatcher, MdAttributeStore } from "./store.ts";
import { PollWatcher } from "./wait.ts";

/** Turns a Deno I/O error into a named KernelError; other errors pass through. */
export function asKernelError(e: unknown, operation: string, target: string): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") {
    const n = errnoNumber(code);
    if (n !== undefined) return new KernelError(n, operation, target);
  }
  return e;
}

export class SysfsMdStore implements MdAttributeStore {
  readonly root: string;

  constructor(root = "/sys") {
    this.root = root.replace(/\/$/, "");
  }

  /** Absolute path of an attribute of md device `devnm`. */
  path(devnm: string, path: string): string {
    return `${this.root}/block/${devnm}/md/${path}`;
  }

  async read(devnm: string, path: string): Promise<string | null> {
    const p = this.path(devnm, path);
    try {
      return (await Deno.readTextFile(p)).replace(/\n$/, "");
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw asKernelError(e, "reading", p);
    }
  }

  async write(devnm: string, path: string, value: string): Promise<void> {
    const p = this.path(devnm, path);
    const bytes = new TextEncoder().encode(value);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(p, { write: true });
    } catch (e) {
      throw asKernelError(e, "opening", p);
    }
    try {
      // sysfs takes a value in exactly one write().
      const n = await file.write(bytes);
      if (n !== bytes.length) {
        throw new Error(`${p}: short write of "${value}" (${n} of ${bytes.length} bytes)`);
      }
    } catch (e) {
      throw asKernelError(e, `writing "${value.trimEnd()}" to`, p);
    } finally {
      file.close();
    }
  }

  async memberNames(devnm: string): Promise<string[]> {
    const dir = `${this.root}/block/${devnm}/md`;
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.name.startsWith("dev-")) out.push(e.name.slice(4));
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw asKernelError(e, "listing", dir);
    }
    return out.sort();
  }

  async arrays(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(`${this.root}/block`)) {
        if (!e.name.startsWith("md")) continue;
        try {
          await Deno.stat(`${this.root}/block/${e.name}/md`);
          out.push(e.name);
        } catch {
          // not an md device (or it vanished meanwhile)
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out.sort(compareDevnm);
  }

  async createArray(devnm: string): Promise<void> {
    const p = `${this.root}/module/md_mod/parameters/new_array`;
    try {
      await Deno.writeTextFile(p, devnm);
    } catch (e) {
      throw asKernelError(e, `creating md device ${devnm} through`, p);
    }
  }

  async blockDevNumber(name: string): Promise<string | null> {
    try {
      return (await Deno.readTextFile(`${this.root}/class/block/${name}/dev`)).trim();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }

  watch(devnm: string, paths: string[]): Promise<AttributeWatcher> {
    return Promise.resolve(
      new PollWatcher(new Map(paths.map((p) => [p, this.path(devnm, p)]))),
    );
  }
}

/** Orders mdN names by number (md9 before md10); other names by text. */
export function compareDevnm(a: string, b: string): number {
  const na = Number(/^md(\d+)$/.exec(a)?.[1] ?? NaN), nb = Number(/^md(\d+)$/.exec(b)?.[1] ?? NaN);
  if (Number.isNaN(na) || Number.isNaN(nb)) return a < b ? -1 : a > b ? 1 : 0;
  return na - nb;
}
