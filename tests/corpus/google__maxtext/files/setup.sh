#!/bin/bash
# bash setup.sh MODE={stable,nightly,libtpu-only} DEVICE={tpu,gpu}
set -e
for ARGUMENT in "$@"; do
    IFS='=' read -r KEY VALUE <<< "$ARGUMENT"
    export "$KEY"="$VALUE"
done
if [[ -z "$DEVICE" ]]; then export DEVICE="tpu"; fi

if [[ "$MODE" == "stable" || ! -v MODE ]]; then
    if [[ $DEVICE == "tpu" ]]; then
        pip3 install jax[tpu] -f https://storage.googleapis.com/jax-releases/libtpu_releases.html
    elif [[ $DEVICE == "gpu" ]]; then
        pip3 install "jax[cuda12_pip]" -f https://storage.googleapis.com/jax-releases/jax_cuda_releases.html
        pip3 install git+https://github.com/NVIDIA/TransformerEngine.git@v1.5
    fi
elif [[ $MODE == "nightly" ]]; then
    pip3 install --pre -U jax -f https://storage.googleapis.com/jax-releases/jax_nightly_releases.html
fi

pip3 install -U -r requirements.txt
