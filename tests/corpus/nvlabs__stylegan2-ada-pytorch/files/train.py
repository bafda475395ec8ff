import click
import torch
import dnnlib

@click.command()
def main():
    torch.multiprocessing.set_start_method('spawn')
