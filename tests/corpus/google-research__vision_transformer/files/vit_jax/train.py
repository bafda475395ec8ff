import jax
import flax
import tensorflow as tf


def train_and_evaluate(config, workdir):
    tf.config.experimental.set_visible_devices([], 'GPU')
    update_fn_repl = jax.pmap(lambda opt, batch: opt, axis_name='batch')
