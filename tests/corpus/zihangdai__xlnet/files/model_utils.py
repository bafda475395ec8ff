from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow as tf


def configure_tpu(FLAGS):
    tpu_cluster = tf.contrib.cluster_resolver.TPUClusterResolver(FLAGS.tpu)
    per_host_input = tf.contrib.tpu.InputPipelineConfig.PER_HOST_V2
    return tf.contrib.tpu.RunConfig(cluster=tpu_cluster)
