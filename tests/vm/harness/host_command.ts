/** Runs a host program for the harness and turns failure into an error that says what failed. */

export interface HostCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function hostCommand(
  program: string,
  args: string[],
  opts: { cwd?: string; allowFail?: boolean; env?: Record<string, string> } = {},
): Promise<HostCommandResult> {
  let out;
  try {
    out = await new Deno.Command(program, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${program} is not installed on this machine (needed by the VM harness)`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  const res = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (res.code !== 0 && !opts.allowFail) {
    throw new Error(
      `${program} ${args.join(" ")} exited ${res.code}: ${res.stderr.trim().slice(-2000)}`,
    );
  }
  return res;
}

/** Full path of a program on PATH (or a well-known sbin dir), or null. */
export function whichProgram(name: string): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin"]);
  for (const d of dirs) {
    if (!d) continue;
    try {
      const st = Deno.statSync(`${d}/${name}`);
      if (st.isFile && (st.mode ?? 0o111) & 0o111) return `${d}/${name}`;
    } catch {
      // not in this dir
    }
  }
  return null;
}
