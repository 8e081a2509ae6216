#!/usr/bin/env python3
"""Every error message the docs quote exists in the code and is produced by a test.

For each `error: MESSAGE` (or Python's `nfc.DataError: MESSAGE`) quoted in docs/*.md or README.md, every word of
MESSAGE that does not vary from run to run (quoted names, numbers, paths
and file names do) must be spelled by a string literal of the sources
(abi/ dsl/ compiler/ driver/ runtime/ tools/ api/ support/ include/, and
python/'s module and package) — a literal's `{}`
placeholders split it, so a message assembled from several format strings
is covered piece by piece — and every stretch of MESSAGE between its
variable parts must appear in the tests (tests/, expected diagnostics in
tests/errors/*.nf included, and python/tests/), which compare whole messages. Adjacent C++
literals ("a" "b") are joined first. Exit 1 with one line per gap.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["abi", "dsl", "compiler", "driver", "runtime", "tools", "api", "support",
               "include", "python/module", "python/nfc"]
TEST_DIRS = ["tests", "python/tests"]
CODE_EXTS = {".cpp", ".hpp", ".def", ".h", ".py"}
# What varies in a quoted message: quoted names, numbers, paths, file names,
# strerror() texts, and the cut marks.
VARIABLE = re.compile(
    r"'[^']*'|[-+]?\d[\d.]*(?:e[-+]?\d+)?|\S*/\S*|\S+\.(?:nf|csv|npy|safetensors|json)\b"
    r"|builtin:\w+|-?\binf\b|\bnan\b|No such file or directory|Permission denied|…|\.\.\.")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def literals(paths):
    out = set()
    for p in paths:
        text = p.read_text(errors="replace")
        text = re.sub(r'"\s*\n\s*"', "", text)  # "abc "\n  "def" -> "abc def"
        text = re.sub(r'"[ \t]*"', "", text)
        for m in LITERAL.finditer(text):
            s = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
            for piece in s.split("\\n"):  # a line of output at a time
                if len(re.sub(r"\{[^}]*\}", "", piece).strip()) >= 4:
                    out.add(piece)
    return out


def patterns(strings):
    """The literal pieces of each string, split at its {} placeholders: each
    piece of 3 or more characters is looked for on its own."""
    pieces = set()
    for s in strings:
        s = s.replace("{{", "\x00").replace("}}", "\x01")
        for p in re.split(r"\{[^{}]*\}", s):
            p = p.replace("\x00", "{").replace("\x01", "}")
            if len(p.strip()) >= 3:
                pieces.add(p)
    return [re.compile("(" + re.escape(p) + ")") for p in sorted(pieces)]


def uncovered(message, pats):
    covered = [False] * len(message)
    for m in VARIABLE.finditer(message):
        for i in range(m.start(), m.end()):
            covered[i] = True
    for pat in pats:
        for m in pat.finditer(message):
            for g in range(1, (pat.groups or 0) + 1):
                for i in range(m.start(g), m.end(g)):
                    covered[i] = True
    def is_covered(w):  # a plural may be spelled "value" + "s"
        return all(covered[w.start():w.end()]) or (
            w.group(0).endswith("s") and all(covered[w.start():w.end() - 1]))
    words = re.finditer(r"[A-Za-z][A-Za-z_-]{2,}", message)
    return [w.group(0) for w in words if not is_covered(w)]


def quoted_messages():
    for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        lines = doc.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            # A `code span` broken across lines continues on the next one.
            if line.replace("```", "").count("`") % 2 == 1 and number < len(lines):
                line += " " + lines[number].strip()
            # `nfc: error: ...` of the CLI, `nfc.DataError: ...` of Python
            for m in re.finditer(r"(?:error|nfc\.\w*Error): (.+?)(?:`|$)", line):
                message = m.group(1).strip()
                # Templates ("error: message") and quotes cut by a line
                # break ("not a") are not messages to look for.
                if len(re.findall(r"[A-Za-z]{2,}", message)) >= 3:
                    yield doc.relative_to(ROOT), number, message


def joined_text(paths):
    text = []
    for p in paths:
        t = p.read_text(errors="replace")
        t = re.sub(r'"\s*\n\s*"', "", t)  # "abc "\n  "def" -> "abc def"
        text.append(t.replace('\\"', '"'))
    return "\n".join(text)


def missing_fragments(message, text):
    """The run-independent stretches of `message` (8+ characters) absent
    from `text`: a test spells the whole message, up to its variable parts."""
    parts = (f.strip(" ,;:()") for f in VARIABLE.split(message))
    return [f for f in parts if len(f) >= 8 and f not in text]


def main():
    code = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*") if p.suffix in CODE_EXTS]
    tests = [p for d in TEST_DIRS for p in (ROOT / d).rglob("*")
             if p.is_file() and p.suffix in CODE_EXTS | {".nf"}]
    code_pats, test_text = patterns(literals(code)), joined_text(tests)
    bad = 0
    for doc, number, message in quoted_messages():
        missing = uncovered(message, code_pats)
        if missing:
            bad += 1
            print(f"{doc}:{number}: no string of the code spells: {' '.join(missing)}  [{message}]")
        for fragment in missing_fragments(message, test_text):
            bad += 1
            print(f"{doc}:{number}: no test produces: '{fragment}'  [{message}]")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
