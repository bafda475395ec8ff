import jax
import jax.numpy as jnp
from flax.linen import partitioning as nn_partitioning
import orbax.checkpoint
import max_utils


def train_loop(config, state=None):
    mesh = jax.sharding.Mesh(jax.devices(), config.mesh_axes)
    p_train_step = jax.jit(lambda s, b: s, donate_argnums=(0,))
