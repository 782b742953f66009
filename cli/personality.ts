/** Which program mdts is acting as: picked from the invoked name, or `mdts mdmon ...`. */
export type Personality = "mdts" | "mdadm" | "mdmon";

export interface Invocation {
  personality: Personality;
  args: string[];
}

/** The basename of argv[0] as the user typed it (symlink name, not the resolved binary). */
export function invokedName(
  env: (key: string) => string | undefined,
  readCmdline: () => string | null,
  execPath: string,
): string {
  // A source launcher cannot pass argv[0] through Deno, so it exports MDTS_ARGV0.
  const fromEnv = env("MDTS_ARGV0");
  if (fromEnv) return basename(fromEnv);
  const cmdline = readCmdline();
  if (cmdline) {
    const argv0 = cmdline.split("\0")[0];
    if (argv0) return basename(argv0);
  }
  return basename(execPath);
}

function basename(path: string): string {
  const parts = path.split("/");
  return parts[parts.length - 1] || path;
}

/** Chooses the personality: by invoked name first, then by a leading `mdmon`/`mdadm` word for mdts. */
export function choosePersonality(name: string, args: string[]): Invocation {
  if (name === "mdmon" || name.startsWith("mdmon.")) return { personality: "mdmon", args };
  if (name === "mdadm" || name.startsWith("mdadm.")) return { personality: "mdadm", args };
  if (args[0] === "mdmon") return { personality: "mdmon", args: args.slice(1) };
  if (args[0] === "mdadm") return { personality: "mdadm", args: args.slice(1) };
  return { personality: "mdts", args };
}
