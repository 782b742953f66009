/**
 * The VM's serial console: copied to a log file in the work dir as it arrives, the recent part kept
 * in memory for error messages, and scanned line by line for patterns a test waits on.
 */

const TAIL_BYTES = 64 * 1024;

interface LineWaiter {
  pattern: RegExp;
  resolve: (line: string) => void;
}

export class ConsoleLog {
  #tail = "";
  #partial = "";
  #waiters: LineWaiter[] = [];
  #file: Deno.FsFile;
  #decoder = new TextDecoder();
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.#file = Deno.openSync(path, { create: true, append: true });
  }

  /** Copies a stream (qemu's stdout or stderr) into the log until it ends. */
  async pump(stream: ReadableStream<Uint8Array>, prefix = ""): Promise<void> {
    for await (const chunk of stream) {
      if (prefix) {
        this.append(new TextEncoder().encode(prefix + this.#decoder.decode(chunk)));
      } else {
        this.append(chunk);
      }
    }
  }

  append(chunk: Uint8Array) {
    try {
      this.#file.writeSync(chunk);
    } catch {
      // the log is closed after the VM ended; late bytes only go to memory
    }
    const text = new TextDecoder().decode(chunk);
    this.#tail = (this.#tail + text).slice(-TAIL_BYTES);
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#matchLine(line.replace(/\r$/, ""));
  }

  #matchLine(line: string) {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pattern.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first console line matching `pattern` from now on. */
  waitForLine(pattern: RegExp): { promise: Promise<string>; cancel: () => void } {
    let waiter!: LineWaiter;
    const promise = new Promise<string>((resolve) => {
      waiter = { pattern, resolve };
    });
    this.#waiters.push(waiter);
    return {
      promise,
      cancel: () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      },
    };
  }

  /** The last `lines` lines of the console, for error messages. */
  tail(lines = 40): string {
    return this.#tail.split("\n").slice(-lines).join("\n");
  }

  close() {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}
