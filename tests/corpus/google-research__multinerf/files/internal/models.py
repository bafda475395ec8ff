import flax
from flax import linen as nn
import gin
import jax
from jax import random
import jax.numpy as jnp


@gin.configurable
class Model(nn.Module):
    num_levels: int = 3

    @nn.compact
    def __call__(self, rng, rays, train_frac, compute_extras):
        return nn.Dense(256)(rays)
