import functools
from absl import app
import flax
from flax.training import checkpoints
import jax
import jax.numpy as jnp


def main(unused_argv):
    train_pstep = jax.pmap(lambda s, b: s, axis_name='batch', donate_argnums=(0,))
