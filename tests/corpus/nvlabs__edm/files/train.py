import os
import re
import json
import click
import torch
import dnnlib
from torch_utils import distributed as dist
from training import training_loop


@click.command()
@click.option('--outdir', help='Where to save the results', metavar='DIR', type=str, required=True)
def main(**kwargs):
    torch.multiprocessing.set_start_method('spawn')
    dist.init()
