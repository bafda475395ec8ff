#!/bin/bash
# shellcheck disable=SC2016
# furnace export slurm: mnist on 2 node(s) with 2 GPU(s) each, runtime apptainer.
# Submit with 'sbatch FILE'; docs/cluster.md says what each line does.
#SBATCH --job-name=mnist-1a2b3c
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=8
#SBATCH --mem=32768M
#SBATCH --time=04:00:00
#SBATCH --partition=gpu
#SBATCH --output=furnace-%x-%j.out
set -euo pipefail

# The image, pinned by digest: 127.0.0.1:5757/furnace/mnist@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
# --cleanenv: the container sees only the APPTAINERENV_ variables below. Registry credentials:
# 'apptainer registry login' on the nodes, or APPTAINER_DOCKER_USERNAME/PASSWORD in the job's environment.
export APPTAINERENV_OMP_NUM_THREADS=4
export APPTAINERENV_PYTHONUNBUFFERED=1
if [ -n "${TZ+set}" ]; then export APPTAINERENV_TZ="$TZ"; fi
if [ -n "${WANDB_API_KEY+set}" ]; then export APPTAINERENV_WANDB_API_KEY="$WANDB_API_KEY"; fi
if [ -n "${https_proxy+set}" ]; then export APPTAINERENV_https_proxy="$https_proxy"; fi

# torchrun on every node; the first node of the job is the rendezvous.
MASTER_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
# Its address as Slurm reaches it (NodeAddr; a node's name need not resolve).
MASTER_ADDR=$(scontrol show node -o "$MASTER_NODE" | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2 || true)
export MASTER_ADDR=${MASTER_ADDR:-$MASTER_NODE}
export MASTER_PORT=29500
# One launch per node: srun starts it on each, where SLURM_NODEID is that node's rank.
launch() {
  export APPTAINERENV_CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-}"
  exec apptainer exec --nv --cleanenv \
    --bind '/home/alice/my project/it'\''s here:/home/alice/my project/it'\''s here:rw' \
    --bind /data/imagenet:/datasets/imagenet:ro \
    --pwd '/home/alice/my project/it'\''s here' \
    docker://127.0.0.1:5757/furnace/mnist@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
    torchrun --nnodes="$SLURM_NNODES" --node_rank="$SLURM_NODEID" \
    --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
    --nproc_per_node=2 train.py --note '$(rm -rf ~); `id` "q" '\''single'\'' *'
}
export -f launch
srun --ntasks-per-node=1 bash -c launch
