from absl import app
import flax
import jax
import jax.numpy as jnp
import optax
import tensorflow as tf


def main(argv):
    tf.config.set_visible_devices([], "GPU")
    mesh = jax.sharding.Mesh(jax.devices(), ("data",))
    params = jax.jit(lambda x: x)(jnp.zeros(3))
