/**
 * Every command line in mdadm-4.2-usage.txt was run through the real mdadm 4.2 (Debian 4.2-5) by
 * capture-mdadm-usage.sh; each fails while mdadm reads its options, or prints help or its version.
 * Our parser must give the same stderr text and the same exit status for each.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { formatParseError, parseMdadm } from "../../../cli/parse.ts";

interface Captured {
  line: string;
  code: number;
  stderr: string;
}

function readCaptures(): Captured[] {
  const path = fileURLToPath(new URL("./mdadm-4.2-usage.txt", import.meta.url));
  const blocks = Deno.readTextFileSync(path).split(/^### /m).slice(1);
  return blocks.map((block) => {
    const [line, rcLine, ...rest] = block.split("\n");
    const text = rest.join("\n").replace(/\n+$/, "");
    return {
      line,
      code: Number(rcLine.replace("rc=", "")),
      stderr: text === "" ? "" : text + "\n",
    };
  });
}

function argv(line: string): string[] {
  return line.split(" ").filter((w) => w !== "").map((w) => (w === "''" ? "" : w));
}

Deno.test("the fixture holds the captured matrix", () => {
  const captures = readCaptures();
  assert.deepStrictEqual(captures.length >= 200, true);
  assert.deepStrictEqual(captures.filter((c) => c.code !== 0).length >= 200, true);
});

Deno.test("each captured mdadm usage error: same message, same exit status", () => {
  const mismatches: string[] = [];
  for (const c of readCaptures()) {
    const r = parseMdadm(argv(c.line));
    if (c.code === 0) {
      if (!r.ok || (r.command.mode !== "help" && r.command.mode !== "version")) {
        mismatches.push(`${c.line}: mdadm printed help/version, we did not`);
      }
      continue;
    }
    if (r.ok) {
      mismatches.push(`${c.line}: mdadm failed (${c.code}), we parsed ${r.command.mode}`);
      continue;
    }
    const ours = formatParseError(r, "mdadm");
    if (ours !== c.stderr || r.code !== c.code) {
      mismatches.push(
        `${c.line}\n  mdadm (${c.code}): ${JSON.stringify(c.stderr)}\n  ours  (${r.code}): ${
          JSON.stringify(ours)
        }`,
      );
    }
  }
  assert.deepStrictEqual(mismatches, []);
});
