import chex
import haiku as hk
import jax
import jax.numpy as jnp
import jraph


class GraphCast:
    def __call__(self, inputs):
        return hk.Linear(512)(inputs)
