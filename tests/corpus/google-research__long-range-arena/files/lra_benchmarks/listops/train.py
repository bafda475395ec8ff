import functools
import itertools
import json
import os
import time

from absl import app
from absl import flags
from absl import logging
from flax import jax_utils
from flax import nn
from flax import optim
from flax.metrics import tensorboard
from flax.training import checkpoints
from flax.training import common_utils
import jax
from jax import random
import jax.numpy as jnp
import numpy as onp
import tensorflow.compat.v2 as tf


def main(argv):
    tf.enable_v2_behavior()
    optimizer_def = optim.Adam(0.05, beta1=0.9, beta2=0.98, eps=1e-9, weight_decay=0.1)
    rng = random.PRNGKey(0)
    rng = jax.random.fold_in(rng, jax.host_id())
