import fire
import tensorflow.compat.v1 as tf
import tensorflow_gan as tfgan

from diffusion_tf import utils
from diffusion_tf.tpu_utils import tpu_utils


def train(exp_name, tpu_name, bucket_name_prefix):
    tf.logging.set_verbosity(tf.logging.INFO)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu_name)


if __name__ == '__main__':
    fire.Fire()
