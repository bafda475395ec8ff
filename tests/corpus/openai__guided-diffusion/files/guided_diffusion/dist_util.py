import io
import os
import socket

import blobfile as bf
from mpi4py import MPI
import torch as th
import torch.distributed as dist

GPUS_PER_NODE = 8


def setup_dist():
    if dist.is_initialized():
        return
    comm = MPI.COMM_WORLD
    dist.init_process_group(backend="nccl" if th.cuda.is_available() else "gloo", init_method="env://")
