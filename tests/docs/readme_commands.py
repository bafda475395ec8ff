#!/usr/bin/env python3
"""The README and its Chinese translation must give the same two set-up commands.

Reads the first ```sh block after the "two commands" heading of each README, keeps the command
lines (comments and blank lines dropped, a trailing comment cut), and compares them. Also checks
that README.md links the translation in its first lines and that each command names a script
that exists. Exit 1 with the difference when anything is off.
"""
import os
import re
import sys


def commands(path, heading):
    text = open(path, encoding="utf-8").read()
    at = text.find(heading)
    if at < 0:
        sys.exit(f"{path}: no heading {heading!r}")
    block = re.search(r"```sh\n(.*?)```", text[at:], re.S)
    if not block:
        sys.exit(f"{path}: no ```sh block after {heading!r}")
    lines = []
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return text, lines


def main():
    root = sys.argv[1]
    en_text, en = commands(os.path.join(root, "README.md"), "## Two commands")
    _, zh = commands(os.path.join(root, "README.zh-CN.md"), "## 两条命令")
    ok = True
    if len(en) != 2:
        print(f"README.md: expected two commands, found {en}")
        ok = False
    if en != zh:
        print(f"README.md gives {en}\nREADME.zh-CN.md gives {zh}")
        ok = False
    if "README.zh-CN.md" not in "\n".join(en_text.splitlines()[:5]):
        print("README.md does not link README.zh-CN.md in its first lines")
        ok = False
    for cmd in en:
        script = next((w for w in cmd.split() if w.startswith("scripts/")), None)
        if script is None or not os.path.isfile(os.path.join(root, script)):
            print(f"{cmd!r}: names no script of the repository")
            ok = False
    print("the two commands: " + " | ".join(en))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
