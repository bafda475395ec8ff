#!/bin/bash
# shellcheck disable=SC2016
# furnace export slurm: mnist on 2 node(s) with 2 GPU(s) each, runtime pyxis.
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
# Registry credentials come from enroot's credentials file ($ENROOT_CONFIG_PATH/.credentials,
# netrc format) on the nodes; none are in this script.
export OMP_NUM_THREADS=4
export PYTHONUNBUFFERED=1

# torchrun on every node; the first node of the job is the rendezvous.
MASTER_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
# Its address as Slurm reaches it (NodeAddr; a node's name need not resolve).
MASTER_ADDR=$(scontrol show node -o "$MASTER_NODE" | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2 || true)
export MASTER_ADDR=${MASTER_ADDR:-$MASTER_NODE}
export MASTER_PORT=29500
# One launch per node: srun starts it on each, where SLURM_NODEID is that node's rank.
launch() {
  exec torchrun --nnodes="$SLURM_NNODES" --node_rank="$SLURM_NODEID" \
    --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
    --nproc_per_node=2 train.py --note '$(rm -rf ~); `id` "q" '\''single'\'' *'
}
export -f launch
srun --ntasks-per-node=1 \
    '--container-image=127.0.0.1:5757#furnace/mnist@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc' \
    '--container-mounts=/home/alice/my project/it'\''s here:/home/alice/my project/it'\''s here,/data/imagenet:/datasets/imagenet:ro' \
    '--container-workdir=/home/alice/my project/it'\''s here' \
    --container-env=OMP_NUM_THREADS,PYTHONUNBUFFERED,TZ,WANDB_API_KEY,https_proxy \
    --no-container-mount-home \
    bash -c launch
