#!/bin/bash
# shellcheck disable=SC2016
# furnace export slurm: mnist on 2 node(s) with 2 GPU(s) each, runtime docker.
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
# furnace on the nodes runs the project's image on the node's engine, as 'furnace run' does here
# (built from the project and furnace.lock when the node does not have it yet).
export FURNACE=${FURNACE:-/usr/bin/furnace}
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/docker.sock}

# torchrun on every node; the first node of the job is the rendezvous.
MASTER_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
# Its address as Slurm reaches it (NodeAddr; a node's name need not resolve).
MASTER_ADDR=$(scontrol show node -o "$MASTER_NODE" | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2 || true)
export MASTER_ADDR=${MASTER_ADDR:-$MASTER_NODE}
export MASTER_PORT=29500
# One launch per node: srun starts it on each, where SLURM_NODEID is that node's rank.
launch() {
  # The GPUs Slurm gave the job, as this node's GPU indices.
  local gpus=${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}}
  exec "$FURNACE" run -C '/home/alice/my project/it'\''s here' --network host -e MASTER_ADDR -e MASTER_PORT --gpus "${gpus:-none}" -e WANDB_API_KEY --memory 32g --cpus 8 -- \
    torchrun --nnodes="$SLURM_NNODES" --node_rank="$SLURM_NODEID" \
    --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
    --nproc_per_node=2 train.py --note '$(rm -rf ~); `id` "q" '\''single'\'' *'
}
export -f launch
srun --ntasks-per-node=1 bash -c launch
