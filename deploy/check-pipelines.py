#!/usr/bin/env python3
"""Finds shell pipelines in deploy/ and the Justfile that can fail for no real reason.

Every script here runs under `set -o pipefail` (the Justfile's shell is `bash -euo pipefail`), so
a pipeline fails when any of its commands does. Two kinds of command make that happen by chance:

  sigpipe   a reader that stops early (`head`, `grep -q`, `grep -m`, `grep -l`, `sed …q`,
            `awk …exit`) after a writer that still writes: the writer dies of SIGPIPE (exit 141),
            depending on how much it writes and how fast — it passes on one machine and fails on
            the next. Read everything instead (`sed -n 1p`, `awk 'NR==1'`, `grep … >/dev/null`).
  no-match  `grep` finding nothing exits 1: as a middle command of a pipeline, or `grep -c`
            (which prints 0 *and* exits 1), it fails the pipeline on an empty match. Add
            `|| true` where nothing found is fine, or use awk.

A line that is right as it is says so with a trailing `# pipe-ok: <why>`.
Usage: deploy/check-pipelines.py [FILE…]   (default: deploy/**/*.sh, the Justfile and .ci/run)
Exit 1 with one line per finding (file:line: kind: the command), 0 when clean.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EARLY_READERS = [
    (re.compile(r"^head\b"), "head stops reading after its lines"),
    (re.compile(r"^grep\b[^|]*\s-[A-Za-z]*[qlL][A-Za-z]*\b"), "grep -q/-l stops at the first match"),
    (re.compile(r"^grep\b[^|]*\s(-m\s*\d+|--max-count)"), "grep -m stops after its count"),
    (re.compile(r"^sed\b.*(\bq\b|;\s*q\s*['\"])"), "sed q stops reading"),
    (re.compile(r"^awk\b(?!.*END\s*\{\s*exit).*\bexit\b"), "awk exit stops reading"),
]


def logical_lines(text: str):
    """Joins backslash continuations; yields (first line number, joined text without comments)."""
    buf, start = "", None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if start is None:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        yield start, buf
        buf, start = "", None
    if buf:
        yield start, buf


def strip_quoted(line: str) -> str:
    """Blanks out the inside of quotes and drops a trailing comment, so `|` in a string or a
    regex alternation does not count as a pipe. A command substitution `$(…)` inside double
    quotes is code again, and scanned as such."""
    out = []
    # the stack holds the contexts we are in: "code" (with its paren depth), '"' or "'"
    stack: list[list] = [["code", 0]]
    i = 0
    while i < len(line):
        c, ctx = line[i], stack[-1]
        if ctx[0] == "'":
            if c == "'":
                stack.pop()
                out.append(c)
            else:
                out.append(" ")
        elif ctx[0] == '"':
            if c == "\\" and i + 1 < len(line):
                out.append("  ")
                i += 2
                continue
            if c == '"':
                stack.pop()
                out.append(c)
            elif line.startswith("$(", i):
                stack.append(["code", 1])
                out.append("$(")
                i += 2
                continue
            else:
                out.append(" ")
        else:
            if c in "'\"":
                stack.append([c, 0])
                out.append(c)
            elif c == "#" and (i == 0 or line[i - 1] in " \t;") and len(stack) == 1:
                break
            elif c == "(":
                ctx[1] += 1
                out.append(c)
            elif c == ")":
                ctx[1] -= 1
                out.append(c)
                if ctx[1] == 0 and len(stack) > 1:
                    stack.pop()
            else:
                out.append(c)
        i += 1
    return "".join(out)


def findings(path: Path):
    text = path.read_text(encoding="utf-8")
    for number, line in logical_lines(text):
        if "pipe-ok:" in line:
            continue
        code = strip_quoted(line)
        if "|" not in code and "grep -c" not in code:
            continue
        # split on single pipes (not ||); the stripped text has the same length as the line, so
        # the pipes found in it cut the line itself (whose quoted parts, e.g. awk's program, count)
        cuts = [m.start() for m in re.finditer(r"(?<!\|)\|(?!\|)", code)]
        bounds = [-1, *cuts, len(code)]
        stages = [line[a + 1 : b].strip() for a, b in zip(bounds, bounds[1:])]
        # `|| true` / `|| :` anywhere after makes a failure harmless for this line
        tolerated = re.search(r"\|\|\s*(true|:)\b", code) is not None
        for i, stage in enumerate(stages):
            stage_cmd = stage
            for _ in range(3):
                stage_cmd = re.sub(r"^(\w+=)?[\s({!$\[\"]*(then|do|else|if|while|until)?\s*!?\s*", "", stage_cmd)
            if i > 0:
                for pattern, why in EARLY_READERS:
                    if pattern.search(stage_cmd) and stages[i - 1] and not tolerated:
                        yield number, "sigpipe", why, line.strip()
            is_grep = re.match(r"^(grep|egrep|fgrep)\b", stage_cmd) is not None
            if is_grep and i < len(stages) - 1 and not tolerated:
                yield number, "no-match", "grep in the middle of a pipeline fails it on no match", line.strip()
            if is_grep and re.search(r"\s-[A-Za-z]*c[A-Za-z]*\b", stage_cmd) and not tolerated:
                yield number, "no-match", "grep -c exits 1 when it counts 0", line.strip()


# the checker's own test (`--self-test`, run by `just check-pipelines` first): lines it must
# flag, and lines it must leave alone
MUST_FLAG = [
    """first=$(find "$D" -name '*.pdf' -printf '%T@ %p\\n' | sort -n | head -n 1 | cut -d' ' -f2-)""",
    """if ! rustup toolchain list | grep -q '^nightly'; then""",
    """[ "$(printf '%s\\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]""",
    'grep -c billing.invoice.issued "$F" | xargs echo "invoices:"',
    """n=$(grep -c x file)""",
    """grep x file | wc -l""",
    """seq 1 100000 | awk '{ if ($1 > 5) exit }'""",
]
MUST_PASS = [
    """first=$(find "$D" -name '*.pdf' | sort -n | sed -n 1p)""",
    'echo "a | head -n 1 inside a string"',
    """grep -E 'a|b' file >/dev/null""",
    """grep x file | wc -l || true""",
    """cmd | head -n 3 # pipe-ok: cmd prints exactly one line""",
    """awk '/x/ {n++} END {print n+0}' file""",
    """pg_lsclusters -h | awk '$2=="main" {f=1} END {exit !f}'""",
]


def self_test() -> int:
    import tempfile

    bad = 0
    for line, want in [(l, True) for l in MUST_FLAG] + [(l, False) for l in MUST_PASS]:
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
            f.write(line + "\n")
        got = any(True for _ in findings(Path(f.name)))
        Path(f.name).unlink()
        if got != want:
            print(f"self-test: {'missed' if want else 'wrongly flagged'}: {line}")
            bad += 1
    print(f"self-test: {len(MUST_FLAG) + len(MUST_PASS) - bad} of {len(MUST_FLAG) + len(MUST_PASS)} examples right")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    files = [Path(a) for a in argv] or sorted((ROOT / "deploy").rglob("*.sh")) + [ROOT / "Justfile", ROOT / ".ci" / "run"]
    bad = 0
    for f in files:
        for number, kind, why, line in findings(f):
            rel = f.resolve().relative_to(ROOT) if f.resolve().is_relative_to(ROOT) else f
            print(f"{rel}:{number}: {kind}: {why}: {line}")
            bad += 1
    if bad:
        print(f"{bad} pipeline(s) can fail by chance; see deploy/check-pipelines.py for the fixes")
        return 1
    print(f"pipelines: {len(files)} file(s) checked, none can die of SIGPIPE or an empty match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
