#!/usr/bin/env bash
# Every script furnace exports passes `bash -n` and shellcheck, every manifest deserialises into
# the Kubernetes API models (validate_k8s.py, Debian's python3-kubernetes), and none holds a
# secret: the golden files of tests/unit/golden/cluster, and what the built binary exports for
# each runtime and node count with a secret -e variable, a secret on the command line and a
# proxy with credentials in its environment. --image pins the image, so no engine is needed.
# Usage: check_exports.sh SOURCE_DIR FURNACE_BINARY
set -euo pipefail
src=$1
furnace=$2
fail() { echo "check_exports: FAIL: $*" >&2; exit 1; }
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
/usr/bin/python3 -c 'import kubernetes, yaml' 2>/dev/null || missing+=(python3-kubernetes)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${CI:-}" = true ] && fail "CI=true and ${missing[*]} missing (scripts/deps.sh installs them)"
  echo "check_exports: skipped (${missing[*]} missing; scripts/deps.sh installs them)" >&2
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# furnace's files (history, datasets, jobs) go to the test's own directories.
export HOME="$out/home" XDG_DATA_HOME="$out/data" XDG_CONFIG_HOME="$out/config" XDG_CACHE_HOME="$out/cache"
mkdir -p "$HOME"
scripts=("$src"/tests/unit/golden/cluster/*.sh)
manifests=("$src"/tests/unit/golden/cluster/*.yaml)

# A project at a path with a blank and a quote.
proj="$out/my project/it's here"
mkdir -p "$proj"
printf 'name: mnist\ncommand: [python, train.py]\nenv:\n  OMP_NUM_THREADS: "4"\n' >"$proj/furnace.yaml"
printf 'print("hi")\n' >"$proj/train.py"
image=127.0.0.1:5757/furnace/mnist@sha256:$(printf 'c%.0s' $(seq 64))
secret=s3cret-$$-value
export SECRET_TOKEN=$secret
export https_proxy=http://alice:$secret-proxy@127.0.0.1:3128
for rt in pyxis apptainer docker; do
  for n in 1 2; do
    f="$out/$rt-$n.sh"
    "$furnace" export slurm -C "$proj" --image "$image" --runtime "$rt" --nodes "$n" --gpus 2 \
      -e SECRET_TOKEN -e "CLI_TOKEN=$secret-cli" -o "$f" -- python train.py --x 'a b' \
      || fail "export slurm --runtime $rt --nodes $n"
    scripts+=("$f")
  done
done
for n in 1 3; do
  f="$out/k8s-$n.yaml"
  "$furnace" export k8s -C "$proj" --image "$image" --nodes "$n" --gpus 1 --pull-secret regcred \
    -e SECRET_TOKEN -e "CLI_TOKEN=$secret-cli" -o "$f" -- python train.py || fail "export k8s --nodes $n"
  manifests+=("$f")
done

for f in "${scripts[@]}"; do
  bash -n "$f" || fail "bash -n $f"
  shellcheck "$f" || fail "shellcheck $f"
  ! grep -q -- "$secret" "$f" || fail "a secret value is in $f"
  case $f in
    "$out"/*) { grep -q 'SECRET_TOKEN' "$f" && grep -q 'CLI_TOKEN' "$f"; } || fail "the -e names are not in $f" ;;
  esac
done
/usr/bin/python3 "$src/tests/cluster/validate_k8s.py" --forbid "$secret" "${manifests[@]}"

# furnace.yaml's datasets (furnace dataset): a local one bound read-only at /datasets/NAME from
# its directory; an NFS one from the host's mount point for Slurm, and as an NFS volume of the
# same export for Kubernetes.
mkdir -p "$out/local data"
"$furnace" dataset add mylocal "$out/local data" >/dev/null 2>&1 || fail "dataset add mylocal"
"$furnace" dataset add imagenet nfs://127.0.0.1/exports/imagenet >/dev/null 2>&1 || fail "dataset add imagenet"
printf 'datasets: [mylocal, imagenet]\n' >>"$proj/furnace.yaml"
f="$out/datasets.sh"
"$furnace" export slurm -C "$proj" --image "$image" --runtime apptainer -o "$f" -- python train.py ||
  fail "export slurm with datasets"
grep -qF -- "--bind '$out/local data:/datasets/mylocal:ro'" "$f" || fail "no read-only bind of mylocal in $f"
grep -q -- ':/datasets/imagenet:ro' "$f" || fail "no read-only bind of imagenet in $f"
{ bash -n "$f" && shellcheck "$f"; } || fail "shellcheck $f"
f="$out/datasets.yaml"
"$furnace" export k8s -C "$proj" --image "$image" -o "$f" -- python train.py || fail "export k8s with datasets"
/usr/bin/python3 - "$f" <<'PY' || fail "the datasets are not the volumes they should be in $f"
import sys, yaml
job = list(yaml.safe_load_all(open(sys.argv[1])))[-1]
pod = job["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
nfs = vols[mounts["/datasets/imagenet"]["name"]]["nfs"]
assert nfs == {"server": "127.0.0.1", "path": "/exports/imagenet", "readOnly": True}, nfs
pvc = vols[mounts["/datasets/mylocal"]["name"]]["persistentVolumeClaim"]
assert pvc == {"claimName": "mylocal", "readOnly": True}, pvc
assert mounts["/datasets/mylocal"]["readOnly"] and mounts["/datasets/imagenet"]["readOnly"]
PY
/usr/bin/python3 "$src/tests/cluster/validate_k8s.py" "$f" >/dev/null

# submit --k8s without kubectl: a clear error, the manifest kept for another machine, no record.
set +e
err=$(PATH=/nonexistent "$furnace" submit --k8s -C "$proj" --image "$image" -- python train.py 2>&1)
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "submit --k8s without kubectl: exit $rc: $err"
grep -q 'kubectl is not installed' <<<"$err" || fail "submit --k8s without kubectl said: $err"
ls "$XDG_DATA_HOME"/furnace/jobs/mnist-*.yaml >/dev/null || fail "no manifest kept: $err"
echo "check_exports: ok (${#scripts[@]} scripts, ${#manifests[@]} manifests)"
