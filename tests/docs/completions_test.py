#!/usr/bin/env python3
"""Man pages and shell completions against --help (issue 17).

Generates the pages and completions with scripts/gen-docs.py from the built binary, then, for
every command and subcommand, reads the options `furnace ... --help` prints (the parser's own
output, not the generator's input) and checks that each one is in that command's man page and in
the bash, zsh and fish completions. Drives the bash and fish completions for real (what TAB
offers after `furnace run --g`, `--gpus`, `config set mirror.pip`), checks the scripts' syntax
with bash -n, zsh -n and fish -n, the pages with groff -ww, and that every --help line fits 80
columns. Under CI=true a missing shell is a failure.

Usage: completions_test.py FURNACE SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def check(ok, what):
    if not ok:
        FAILURES.append(what)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def help_of(furnace, path):
    r = run([furnace] + path + ["--help"])
    check(r.returncode == 0, f"furnace {' '.join(path)} --help exited {r.returncode}")
    return r.stdout


def parse_help(text):
    """Option names and subcommand names from CLI11's help text."""
    options, subs, section = [], [], None
    for line in text.splitlines():
        if line.startswith("Options:"):
            section = "options"
            continue
        if line.startswith("Subcommands:"):
            section = "subs"
            continue
        if line.startswith("Positionals:"):
            section = "positionals"
            continue
        if not line.startswith("  "):
            section = None if line.strip() == "" else section
            continue
        body = line.strip()
        if section == "options" and body.startswith("-"):
            spec = body.split("  ")[0].split(" ")[0]  # "-C,--directory"
            options += [n for n in spec.split(",") if n.startswith("-")]
        elif section == "subs" and not line.startswith("   "):
            subs.append(body.split()[0])
    return options, subs


def main():
    furnace, src = sys.argv[1], sys.argv[2]
    ci = os.environ.get("CI") == "true"
    out = tempfile.mkdtemp(prefix="furnace-docs-")
    try:
        r = run([sys.executable, os.path.join(src, "scripts/gen-docs.py"), furnace, out])
        check(r.returncode == 0, f"gen-docs failed: {r.stderr}")
        man = os.path.join(out, "man", "man1")
        comp = os.path.join(out, "completions")
        bash_text = open(os.path.join(comp, "furnace.bash")).read()
        zsh_text = open(os.path.join(comp, "_furnace")).read()
        fish_text = open(os.path.join(comp, "furnace.fish")).read()

        # Every option --help shows, in the man page and the three completions.
        todo, seen = [[]], 0
        while todo:
            path = todo.pop()
            text = help_of(furnace, path)
            for line in text.splitlines():
                check(len(line) <= 80, f"furnace {' '.join(path)} --help: a line of {len(line)} columns: {line!r}")
            options, subs = parse_help(text)
            todo += [path + [s] for s in subs]
            page_name = "furnace" + ("-" + path[0] if path else "") + ".1"
            page = open(os.path.join(man, page_name)).read() if os.path.exists(os.path.join(man, page_name)) else ""
            check(page != "", f"no man page {page_name}")
            for o in options:
                seen += 1
                where = " ".join(["furnace"] + path)
                check(o.replace("-", "\\-") in page, f"{where} {o}: not in {page_name}")
                bash_key = '["@' + " ".join(path) + '"]="'
                opts_table = bash_text.split("declare -gA _furnace_opts=(", 1)[-1].split(")\n", 1)[0]
                row = next((l for l in opts_table.splitlines() if l.strip().startswith(bash_key)), "")
                check(f" {o} " in f" {row.split('=', 1)[-1].strip(chr(34))} ", f"{where} {o}: not in the bash completion")
                check(re.search(r"[' ()*]" + re.escape(o) + r"[\[=+]", zsh_text) is not None,
                      f"{where} {o}: not in the zsh completion")
                flag = ("-l " + o[2:]) if o.startswith("--") else ("-s " + o[1:])
                check(re.search(re.escape(flag) + r"( |$)", fish_text, re.M) is not None,
                      f"{where} {o}: not in the fish completion")
        check(seen > 60, f"only {seen} options found in --help: the parser of this test is broken")

        # Syntax of the scripts and the pages.
        shells = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "-n"]}
        files = {"bash": "furnace.bash", "zsh": "_furnace", "fish": "furnace.fish"}
        for sh, argv in shells.items():
            if shutil.which(sh) is None:
                check(not ci, f"CI=true and no {sh} (scripts/deps.sh installs it)")
                continue
            r = run(argv + [os.path.join(comp, files[sh])])
            check(r.returncode == 0, f"{sh} -n {files[sh]}: {r.stderr}")
        if shutil.which("groff"):
            for p in sorted(os.listdir(man)):
                r = run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(man, p)])
                check(r.returncode == 0 and r.stderr == "", f"groff warns on {p}: {r.stderr}")
        else:
            check(not ci, "CI=true and no groff")

        # What TAB offers, for real: bash and fish call `furnace __complete` for host values.
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(furnace)) + ":" + os.environ["PATH"],
                   HOME=out, XDG_DATA_HOME=out + "/data", FURNACE_NVML_LIBRARY="/nonexistent/libnvidia-ml.so.1")
        cases = [("furnace run --g", ["--gpus"]), ("furnace run --gpus ", ["all", "none", "auto"]),
                 ("furnace config set mirror.pip ", ["tuna", "aliyun", "default"]),
                 ("furnace config ", ["get", "set", "list"]), ("furnace run --ipc ", ["host", "private"]),
                 ("furnace ", ["doctor", "run", "history"]),
                 # run names and ids from the history (one run recorded below)
                 ("furnace logs ", ["1"]), ("furnace stop ", ["1"]), ("furnace show ", ["1"]),
                 ("furnace rerun ", ["1"])]
        # One recorded run in this HOME's history (no engine here): `furnace history` creates the
        # database, sqlite3 adds a row, and TAB after logs/stop/show/rerun must offer it.
        subprocess.run([furnace, "history"], env=env, capture_output=True)
        db = os.path.join(out, "data", "furnace", "history.db")
        import sqlite3
        con = sqlite3.connect(db)
        cols = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
        row = {c: "" for c in cols}
        row.update({"name": "furnace-paper-abc123", "status": "exited", "started_ms": 1, "ended_ms": 2})
        row.pop("id", None)
        con.execute(f"INSERT INTO runs ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values()))
        con.commit()
        con.close()
        for line, want in cases:
            words = line.split(" ")
            script = (f"source {os.path.join(comp, 'furnace.bash')}; COMP_WORDS=({' '.join(repr(w) for w in words)});"
                      f" COMP_CWORD={len(words) - 1}; _furnace; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
            r = run(["bash", "-c", script], env=env)
            got = r.stdout.split()
            check(all(w in got for w in want), f"bash: TAB after {line!r} gave {got}, wanted {want} ({r.stderr})")
            if shutil.which("fish"):
                r = run(["fish", "-c", f"source {os.path.join(comp, 'furnace.fish')}; complete -C {line!r}"], env=env)
                got = [l.split("\t")[0] for l in r.stdout.splitlines()]
                check(all(w in got for w in want), f"fish: TAB after {line!r} gave {got}, wanted {want} ({r.stderr})")
        print(f"completions: {seen} options checked in the man pages and three completions")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    for f in FAILURES:
        print("FAIL:", f)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
