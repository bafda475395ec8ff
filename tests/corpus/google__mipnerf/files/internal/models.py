import functools
from typing import Any, Callable
from flax import linen as nn
import gin
from jax import random
import jax.numpy as jnp

from internal import mip
from internal import utils


@gin.configurable
class MipNerfModel(nn.Module):
    num_samples: int = 128

    @nn.compact
    def __call__(self, rng, rays, randomized, white_bkgd):
        return jnp.zeros(())
