#!/usr/bin/env python3
"""Scores `furnace resolve` on the corpus of real repositories in tests/corpus/.

Each case is a folder with case.json (the repository, its commit date, the acceptable framework
and Python ranges, and why) and files/ (the evidence, re-created). The case is copied to a
temporary folder, made a git checkout committed on its date when it has one, and resolved by the
built binary as a user would: `furnace resolve --json DIR`, on a host without a GPU.

Usage: score.py FURNACE [--corpus DIR] [--floor-version N] [--floor-python N] [--only SLUG]
Prints the score, then each miss with what was chosen and why it was expected otherwise.
Exits 1 when a score is below its floor (counts of cases), 2 on bad input.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def release(text):
    """'1.15.0rc1' -> (1, 15, 0); the pre-release part is dropped (ranges speak of releases)."""
    m = re.match(r"^\s*v?(\d+(?:\.\d+)*)", text)
    if not m:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in m.group(1).split("."))


def cmp(a, b):
    n = max(len(a), len(b))
    a = a + (0,) * (n - len(a))
    b = b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def satisfies(version, spec):
    """PEP 440 subset: ==, !=, >=, <=, >, <, ~=, and ==X.Y.* wildcards, comma-separated."""
    v = release(version)
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        m = re.match(r"^(==|!=|>=|<=|~=|>|<)\s*(.+)$", part)
        if not m:
            raise ValueError(f"bad specifier {part!r}")
        op, operand = m.groups()
        if operand.endswith(".*"):
            prefix = release(operand[:-2])
            head = v[: len(prefix)] + (0,) * max(0, len(prefix) - len(v))
            ok = head == prefix
            if (op == "==" and not ok) or (op == "!=" and ok):
                return False
            continue
        w = release(operand)
        c = cmp(v, w)
        if op == "~=":
            if c < 0 or v[: len(w) - 1] != w[: len(w) - 1]:
                return False
        elif not {"==": c == 0, "!=": c != 0, ">=": c >= 0, "<=": c <= 0, ">": c > 0,
                  "<": c < 0}[op]:
            return False
    return True


def checkout(case_dir, date, work):
    shutil.copytree(os.path.join(case_dir, "files"), work, symlinks=True)
    if not date:
        return
    env = dict(os.environ, GIT_AUTHOR_DATE=f"{date}T12:00:00+0000",
               GIT_COMMITTER_DATE=f"{date}T12:00:00+0000", GIT_AUTHOR_NAME="corpus",
               GIT_AUTHOR_EMAIL="corpus@example.invalid", GIT_COMMITTER_NAME="corpus",
               GIT_COMMITTER_EMAIL="corpus@example.invalid")
    for argv in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "--no-gpg-sign", "-m", "corpus case"]):
        subprocess.run(argv, cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("furnace")
    ap.add_argument("--corpus", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--floor-version", type=int, default=0)
    ap.add_argument("--floor-python", type=int, default=0)
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    slugs = sorted(d for d in os.listdir(args.corpus)
                   if os.path.isfile(os.path.join(args.corpus, d, "case.json")))
    if args.only:
        slugs = [s for s in slugs if args.only in s]
    if not slugs:
        print(f"score: error: no cases under {args.corpus}", file=sys.stderr)
        return 2
    env = dict(os.environ, FURNACE_NVML_LIBRARY="/nonexistent/libnvidia-ml.so.1",
               PATH="/usr/bin:/bin", NO_COLOR="1")
    version_ok = python_ok = 0
    misses = []
    times = []
    tmp = tempfile.mkdtemp(prefix="furnace-corpus-")
    try:
        for slug in slugs:
            case_dir = os.path.join(args.corpus, slug)
            with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
                case = json.load(f)
            work = os.path.join(tmp, slug)
            checkout(case_dir, case.get("commit_date", ""), work)
            start = time.monotonic()
            run = subprocess.run([args.furnace, "resolve", "--json", work], env=env,
                                 capture_output=True, text=True, check=False)
            times.append(time.monotonic() - start)
            if run.returncode not in (0, 3):
                misses.append((slug, "error", f"exit {run.returncode}: {run.stderr.strip()}"))
                continue
            plan = json.loads(run.stdout)
            fw, ver, py = plan.get("framework"), plan.get("framework_version"), plan.get("python")
            got = f"{fw} {ver}, python {py} ({plan.get('base_image')})"
            v_ok = fw == case["framework"] and bool(ver) and satisfies(ver, case["version"])
            p_ok = bool(py) and satisfies(py, case["python"])
            version_ok += v_ok
            python_ok += p_ok
            if not v_ok or not p_ok or args.verbose:
                what = ("ok" if v_ok and p_ok else
                        "framework" if not v_ok and p_ok else
                        "python" if v_ok else "both")
                want = f"want {case['framework']} {case['version']}, python {case['python']}"
                misses.append((slug, what, f"got {got}; {want}; era {plan.get('era')}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(slugs)
    times.sort()
    print(f"corpus: framework version right for {version_ok} of {n}, Python for {python_ok} of "
          f"{n} (floors {args.floor_version} and {args.floor_python}); resolve median "
          f"{1000 * times[len(times) // 2]:.1f} ms, max {1000 * times[-1]:.1f} ms")
    for slug, what, detail in misses:
        print(f"  {what:9} {slug}: {detail}")
    return 0 if version_ok >= args.floor_version and python_ok >= args.floor_python else 1


if __name__ == "__main__":
    sys.exit(main())
