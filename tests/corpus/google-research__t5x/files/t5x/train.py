import jax
import jax.numpy as jnp
from flax import traverse_util
import seqio
import tensorflow as tf


def train(model, train_dataset_cfg):
    tf.config.experimental.set_visible_devices([], 'GPU')
    return jax.device_count()
