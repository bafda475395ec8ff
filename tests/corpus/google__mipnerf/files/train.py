import functools
import gc
import time
from absl import app
from absl import flags
import flax
from flax.metrics import tensorboard
from flax.training import checkpoints
import jax
from jax import config
from jax import random
import jax.numpy as jnp
import numpy as np

from internal import datasets
from internal import math
from internal import models
from internal import utils


def main(unused_argv):
    rng = random.PRNGKey(20200823)
    optimizer = flax.optim.Adam(1e-3).create(None)
    train_pstep = jax.pmap(lambda x: x, axis_name='batch', in_axes=(0, 0))
