import haiku as hk
import jax
import jax.numpy as jnp
import tensorflow.compat.v1 as tf

class RunModel:
    def __init__(self, config, params=None):
        self.apply = jax.jit(hk.transform(lambda x: x).apply)
