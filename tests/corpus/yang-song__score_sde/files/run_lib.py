import jax
import jax.numpy as jnp
import flax
from flax.training import checkpoints
import tensorflow as tf


def train(config, workdir):
    rng = jax.random.PRNGKey(config.seed)
    pstate = flax.jax_utils.replicate(None)
    p_train_step = jax.pmap(lambda s, b: (s, b), axis_name='batch')
    tf.io.gfile.makedirs(workdir)
