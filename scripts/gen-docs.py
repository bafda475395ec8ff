#!/usr/bin/env python3
"""Generates furnace's man pages and its bash, zsh and fish completions from the command line
itself (`furnace __describe`, the same definitions --help prints), so they cannot drift apart.

Usage: scripts/gen-docs.py FURNACE OUTDIR
Writes OUTDIR/man/man1/furnace.1 and one furnace-CMD.1 per command, and
OUTDIR/completions/{furnace.bash,_furnace,furnace.fish}.

Values that depend on the host come from `furnace __complete KIND` when the user presses TAB:
run names and ids (history), GPU choices (the GPUs this host has), mirror presets, config keys.
"""
import datetime
import json
import os
import subprocess
import sys

# What the reference sections say beyond --help: examples and exit codes, per command.
EXAMPLES = {
    "": [("Check the server, then run a paper's code on one free GPU",
          "furnace doctor\ncd ~/papers/mnist && furnace run --gpus auto:1 -- python train.py")],
    "doctor": [("Check this host", "furnace doctor"),
               ("The same as JSON, and a container that sees the GPUs", "furnace doctor --json --gpu-test")],
    "setup": [("Use a Docker Hub mirror (as root; reloads dockerd without a restart)",
               "sudo furnace setup --mirror https://MIRROR"),
              ("Show what would change, change nothing", "sudo furnace setup --mirror https://MIRROR --dry-run")],
    "config": [("Use the Tsinghua mirror for pip, then list every setting",
                "furnace config set mirror.pip tuna\nfurnace config list")],
    "resolve": [("What this project needs on this host", "furnace resolve"),
                ("The same plan for a server with a B200 and driver 580", "furnace resolve --gpu B200 --driver 580.95.05")],
    "init": [("Write furnace.yaml with what resolve found", "furnace init")],
    "build": [("Build the project's image (nothing happens when nothing changed)", "furnace build"),
              ("Rebuild exactly what furnace.lock records", "furnace build --locked")],
    "verify": [("Check the built image against this host, and on one GPU", "furnace verify --gpus auto:1")],
    "images": [("furnace's images with their verified facts", "furnace images --json")],
    "prune": [("See what would be removed", "furnace prune --dry-run")],
    "run": [("Train on the least used free GPU", "furnace run --gpus auto:1 -- python train.py --epochs 10"),
            ("In the background, then follow it", "furnace run -d -- python train.py\nfurnace logs -f RUN")],
    "shell": [("A shell in the project's environment", "furnace shell"),
              ("A shell in the project's running container", "furnace shell --attach")],
    "ps": [("Every furnace container on this host, with owners and GPUs", "furnace ps")],
    "logs": [("Follow a detached run's output", "furnace logs -f furnace-mnist-7f3a2c")],
    "stop": [("Stop a run", "furnace stop furnace-mnist-7f3a2c")],
    "history": [("The newest runs of this project", "furnace history --project .")],
    "show": [("One run in full", "furnace show 42")],
    "rerun": [("The same image and command again", "furnace rerun 42")],
}

EXIT_STATUS = {
    "": "0 on success; 1 when the command failed; 2 for a usage error (a bad option or value).",
    "resolve": "0 when a plan runs on this host; 1 on an error; 2 for a usage error; 3 when no "
               "base image fits the project on this host.",
    "build": "0 when the image is built or up to date and verified; 1 when a check or the build "
             "failed (the builder's own exit code when it ran and failed); 2 for a usage error; 3 "
             "when no base image fits.",
    "run": "The command's own exit code; 125 when the container could not start; 128+N when a "
           "signal N ended it; 1 when furnace failed before running it; 2 for a usage error.",
    "shell": "The shell's exit code; 1 when furnace failed before starting it; 2 for a usage error.",
    "rerun": "As furnace run: the command's exit code.",
    "doctor": "0 when no check failed (warnings allowed); 1 when a check failed.",
    "verify": "0 when every check passed; 1 when one failed; 2 for a usage error.",
}


def describe(furnace):
    out = subprocess.run([furnace, "__describe"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def walk(node, found=None):
    """Every command node, the root first, depth first."""
    found = [] if found is None else found
    found.append(node)
    for c in node["commands"]:
        walk(c, found)
    return found


def opt_label(o):
    names = ", ".join(o["names"])
    return names + (" " + o["value"] if o["value"] else "")


# ---- man pages ---------------------------------------------------------------------------

def roff(text):
    lines = []
    for line in text.replace("\\", "\\e").split("\n"):
        line = line.replace("-", "\\-")
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def synopsis(node):
    words = ["furnace"] + (node["path"].split() if node["path"] else [])
    s = " ".join(words)
    if node["commands"]:
        return s + " COMMAND [OPTIONS]"
    args = " ".join(("" if p["required"] else "[") + p["name"].upper() + ("" if p["required"] else "]")
                    for p in node["positionals"])
    tail = " [--] CMD [ARGS...]" if node["takes_command"] else ""
    return f"{s} [OPTIONS]{(' ' + args) if args else ''}{tail}"


def man_page(node, root, date, version):
    top = node["path"].split()[0] if node["path"] else ""
    title = "furnace" + (("-" + top) if top else "")
    first = node["description"].splitlines()[0] if node["description"] else ""
    first = first.split(": furnace ")[0]  # "Run a command ...: furnace run [OPTIONS]" -> the sentence
    out = [f'.TH {roff(title.upper())} 1 "{date}" "furnace {version}" "furnace manual"',
           ".SH NAME", f"{roff(title)} \\- {roff(first)}",
           ".SH SYNOPSIS", ".B " + roff(synopsis(node)),
           ".SH DESCRIPTION", roff(node["description"])]
    nodes = walk(node)
    for n in nodes:
        opts = n["options"]
        poss = n["positionals"]
        if n is not node:
            out += [f".SH {roff(n['path']).upper()}", ".B " + roff(synopsis(n)),
                    ".PP", roff(n["description"])]
        if poss:
            out.append(".SH ARGUMENTS" if n is node else ".SS Arguments")
            for p in poss:
                out += [".TP", ".I " + roff(p["name"].upper()), roff(p["description"])]
        if opts:
            out.append(".SH OPTIONS" if n is node else ".SS Options")
            for o in opts:
                out += [".TP", ".B " + roff(opt_label(o)), roff(o["description"])]
        if n is node and n["commands"]:
            out.append(".SH COMMANDS")
            for c in n["commands"]:
                page = c["path"].split()[0]
                ref = f"furnace\\-{roff(page)}(1)" if node["path"] == "" else roff(c["path"])
                out += [".TP", ".B " + roff(c["name"]), roff(c["description"]) +
                        (f" See {ref}." if node["path"] == "" else "")]
    examples = EXAMPLES.get(top, [])
    if examples:
        out.append(".SH EXAMPLES")
        for what, cmd in examples:
            out += [".PP", roff(what) + ":", ".PP", ".RS 4", ".nf", roff(cmd), ".fi", ".RE"]
    out += [".SH EXIT STATUS", roff(EXIT_STATUS.get(top, EXIT_STATUS[""]))]
    see = ["furnace(1)"] if top else [f"furnace\\-{roff(c['name'])}(1)" for c in root["commands"]]
    out += [".SH SEE ALSO", ", ".join(see) + "; the documentation under docs/ in furnace's sources."]
    return "\n".join(out) + "\n"


# ---- bash --------------------------------------------------------------------------------

def bash_words(ws):
    return " ".join(ws)


def value_kind(o):
    if o["choices"]:
        return "choice:" + " ".join(o["choices"])
    return o["complete"] or ("file" if o["value"] else "")


def bash(root):
    nodes = walk(root)
    subs, opts, valopts, kinds, poskind, takes = [], [], [], [], [], []
    for n in nodes:
        key = n["path"]
        subs.append(f'  ["@{key}"]="{bash_words(c["name"] for c in n["commands"])}"')
        names = [nm for o in n["options"] for nm in o["names"]]
        opts.append(f'  ["@{key}"]="{bash_words(names)}"')
        vnames = [nm for o in n["options"] if o["value"] for nm in o["names"]]
        valopts.append(f'  ["@{key}"]="{bash_words(vnames)}"')
        for o in n["options"]:
            k = value_kind(o)
            if o["value"] and k:
                for nm in o["names"]:
                    kinds.append(f'  ["@{key} {nm}"]="{k}"')
        if n["positionals"]:
            poskind.append(f'  ["@{key}"]="{" ".join((p["complete"] or "file") for p in n["positionals"])}"')
        if n["takes_command"]:
            takes.append(f'  ["@{key}"]=1')
    return f"""# bash completion for furnace. Generated by scripts/gen-docs.py from `furnace __describe`
# (the definitions behind --help); values that depend on the host come from `furnace __complete`.
# Tables are keyed by "@" and the command path ("@" alone is furnace itself).

declare -gA _furnace_subs=(
{chr(10).join(subs)}
)
declare -gA _furnace_opts=(
{chr(10).join(opts)}
)
declare -gA _furnace_valopts=(
{chr(10).join(valopts)}
)
declare -gA _furnace_kind=(
{chr(10).join(kinds)}
)
declare -gA _furnace_poskind=(
{chr(10).join(poskind)}
)
declare -gA _furnace_takes_command=(
{chr(10).join(takes)}
)

_furnace_values() {{ # KIND CUR
  local kind=$1 cur=$2
  case $kind in
    choice:*) COMPREPLY=($(compgen -W "${{kind#choice:}}" -- "$cur")) ;;
    dirs) COMPREPLY=($(compgen -d -- "$cur")) ;;
    file) COMPREPLY=($(compgen -f -- "$cur")) ;;
    runs | gpus | presets | config-keys)
      COMPREPLY=($(compgen -W "$("${{COMP_WORDS[0]}}" __complete "$kind" 2>/dev/null)" -- "$cur")) ;;
    *) COMPREPLY=() ;;
  esac
}}

_furnace() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} path="" i w npos=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    if [[ $w == -- ]]; then
      COMPREPLY=($(compgen -c -- "$cur")); [[ $i -lt $((COMP_CWORD - 1)) ]] && COMPREPLY=($(compgen -f -- "$cur"))
      return 0
    fi
    if [[ $w == -* ]]; then
      [[ $w != *=* && " ${{_furnace_valopts[@$path]}} " == *" $w "* ]] && ((i++))
      continue
    fi
    if [[ " ${{_furnace_subs[@$path]}} " == *" $w "* ]]; then
      path=${{path:+$path }}$w
      npos=0
    elif [[ -n ${{_furnace_takes_command[@$path]:-}} ]]; then
      COMPREPLY=($(compgen -f -- "$cur")) # the command's own arguments
      return 0
    else
      ((npos++))
    fi
  done
  local prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  if [[ $COMP_CWORD -gt 1 && $prev == -* && " ${{_furnace_valopts[@$path]}} " == *" $prev "* ]]; then
    _furnace_values "${{_furnace_kind[@$path $prev]:-file}}" "$cur"
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${{_furnace_opts[@$path]}}" -- "$cur"))
  elif [[ -n ${{_furnace_subs[@$path]}} ]]; then
    COMPREPLY=($(compgen -W "${{_furnace_subs[@$path]}}" -- "$cur"))
  elif [[ -n ${{_furnace_takes_command[@$path]:-}} ]]; then
    COMPREPLY=($(compgen -c -- "$cur"))
  else
    local kinds=(${{_furnace_poskind[@$path]:-}})
    [[ $npos -lt ${{#kinds[@]}} ]] && _furnace_values "${{kinds[$npos]}}" "$cur"
  fi
  return 0
}}
complete -F _furnace furnace
"""


# ---- zsh ---------------------------------------------------------------------------------

def zq(text):
    """Text inside a single-quoted _arguments spec: no quotes, brackets or colons break it."""
    return (text.replace("'", "'\\''").replace("[", "(").replace("]", ")").replace(":", " -")
            .replace("\n", " "))


def zsh_action(kind):
    if kind.startswith("choice:"):
        return "(" + kind[len("choice:"):] + ")"
    return {"dirs": "_files -/", "file": "_files", "runs": "_furnace_values runs",
            "gpus": "_furnace_values gpus", "presets": "_furnace_values presets",
            "config-keys": "_furnace_values config-keys"}.get(kind, " ")


def zsh_fn(path):
    return "_furnace_cmd" + ("_" + "_".join(path.split()) if path else "")


def zsh(root):
    fns = []
    for n in walk(root):
        specs = []
        for o in n["options"]:
            desc = zq(o["description"])
            kind = value_kind(o)
            excl = "(" + " ".join(o["names"]) + ")" if len(o["names"]) > 1 and not o["repeatable"] else ""
            rep = "*" if o["repeatable"] else ""
            for nm in o["names"]:
                if o["value"]:
                    eq = "=" if nm.startswith("--") else "+"
                    specs.append(f"'{excl}{rep}{nm}{eq}[{desc}]:{zq(o['value'].lower())}:{zsh_action(kind)}'")
                else:
                    specs.append(f"'{excl}{rep}{nm}[{desc}]'")
        body = []
        if n["commands"]:
            cmds = " ".join(f"'{zq(c['name'])}:{zq(c['description'])}'" for c in n["commands"])
            specs += ["'1:command:->command'", "'*::argument:->argument'"]
            body = [f"  _arguments -C {' '.join(specs)} && return",
                    "  case $state in",
                    f"    command) local -a cmds=({cmds}); _describe -t commands command cmds ;;",
                    "    argument) case $words[1] in"]
            for c in n["commands"]:
                body.append(f"      {c['name']}) {zsh_fn(c['path'])} ;;")
            body += ["    esac ;;", "  esac"]
        else:
            for i, p in enumerate(n["positionals"]):
                req = "" if p["required"] else ":"
                specs.append(f"'{i + 1}:{req}{zq(p['name'])}:{zsh_action(p['complete'] or 'file')}'")
            if n["takes_command"]:
                specs.append("'*::command:_normal'")
            body = [f"  _arguments -s -S {' '.join(specs)}"]
        fns.append(f"{zsh_fn(n['path'])}() {{\n  local curcontext=$curcontext state line\n"
                   + "\n".join(body) + "\n}")
    return ("#compdef furnace\n# zsh completion for furnace. Generated by scripts/gen-docs.py from "
            "`furnace __describe`.\n\n_furnace_values() {\n  local -a vals\n"
            "  vals=(${(f)\"$(${words[1]:-furnace} __complete $1 2>/dev/null)\"})\n"
            "  _describe -t values $1 vals\n}\n\n" + "\n\n".join(fns) + "\n\n_furnace_cmd \"$@\"\n")


# ---- fish --------------------------------------------------------------------------------

def fq(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", " ") + "'"


def fish(root):
    lines = ["# fish completion for furnace. Generated by scripts/gen-docs.py from `furnace __describe`.",
             "complete -c furnace -f"]
    for n in walk(root):
        words = n["path"].split()
        if not words:
            cond = "__fish_use_subcommand"
        else:
            cond = " && ".join(f"__fish_seen_subcommand_from {w}" for w in words)
            if n["commands"]:
                sub = " ".join(c["name"] for c in n["commands"])
                cond_sub = cond + f" && not __fish_seen_subcommand_from {sub}"
            else:
                cond_sub = cond
        for c in n["commands"]:
            c_cond = "__fish_use_subcommand" if not words else cond_sub
            lines.append(f"complete -c furnace -n {fq(c_cond)} -a {fq(c['name'])} -d {fq(c['description'][:80])}")
        o_cond = "__fish_use_subcommand" if not words else cond
        for o in n["options"]:
            parts = []
            for nm in o["names"]:
                parts.append(("-l " + nm[2:]) if nm.startswith("--") else ("-s " + nm[1:]))
            kind = value_kind(o)
            val = ""
            if o["value"]:
                val = " -r"
                if kind.startswith("choice:"):
                    val += " -a " + fq(kind[len("choice:"):])
                elif kind == "dirs":
                    val += " -a '(__fish_complete_directories)'"
                elif kind in ("runs", "gpus", "presets", "config-keys"):
                    val += f" -a '(furnace __complete {kind})'"
                else:
                    val += " -F"
            lines.append(f"complete -c furnace -n {fq(o_cond)} {' '.join(parts)}{val} -d {fq(o['description'][:80])}")
        if words and not n["commands"]:
            for i, p in enumerate(n["positionals"]):
                k = p["complete"]
                # The i-th argument: furnace, the command words, then i words before it.
                p_cond = cond + f" && test (count (commandline -opc)) -eq {1 + len(words) + i}"
                if k in ("runs", "gpus", "presets", "config-keys"):
                    lines.append(f"complete -c furnace -n {fq(p_cond)} -a '(furnace __complete {k})'")
                elif k == "dirs":
                    lines.append(f"complete -c furnace -n {fq(p_cond)} -a '(__fish_complete_directories)'")
            if n["takes_command"]:
                lines.append(f"complete -c furnace -n {fq(cond)} -a '(__fish_complete_subcommand)'")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    furnace, outdir = sys.argv[1], sys.argv[2]
    root = describe(furnace)
    version = subprocess.run([furnace, "--version"], capture_output=True, text=True).stdout.split()
    version = version[1] if len(version) > 1 else "0"
    # Reproducible: the date of the source tree's last commit when known, else a fixed one.
    date = os.environ.get("FURNACE_DOC_DATE") or datetime.date(2026, 1, 1).isoformat()
    man = os.path.join(outdir, "man", "man1")
    comp = os.path.join(outdir, "completions")
    os.makedirs(man, exist_ok=True)
    os.makedirs(comp, exist_ok=True)
    pages = {"furnace.1": man_page(root, root, date, version)}
    for c in root["commands"]:
        pages[f"furnace-{c['name']}.1"] = man_page(c, root, date, version)
    for name, text in pages.items():
        with open(os.path.join(man, name), "w", encoding="utf-8") as f:
            f.write(text)
    for name, text in (("furnace.bash", bash(root)), ("_furnace", zsh(root)), ("furnace.fish", fish(root))):
        with open(os.path.join(comp, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"gen-docs: {len(pages)} man pages, 3 completion files in {outdir}")


if __name__ == "__main__":
    main()
