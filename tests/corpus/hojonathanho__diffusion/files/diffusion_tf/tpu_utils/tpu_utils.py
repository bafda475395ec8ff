import tensorflow.compat.v1 as tf
from tensorflow.contrib.tpu.python.tpu import tpu_function
from tensorflow.python.tpu import tpu_estimator


def make_estimator(model_fn, tpu_cluster_resolver, model_dir):
    config = tf.estimator.tpu.RunConfig(cluster=tpu_cluster_resolver, model_dir=model_dir)
    return tf.estimator.tpu.TPUEstimator(model_fn=model_fn, config=config, use_tpu=True)
