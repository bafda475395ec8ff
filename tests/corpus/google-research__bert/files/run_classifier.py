import tensorflow as tf
import modeling

flags = tf.flags
FLAGS = flags.FLAGS


def main(_):
    tpu_cluster_resolver = tf.contrib.cluster_resolver.TPUClusterResolver(FLAGS.tpu_name)
    run_config = tf.contrib.tpu.RunConfig(cluster=tpu_cluster_resolver)
    estimator = tf.contrib.tpu.TPUEstimator(use_tpu=False, model_fn=None, config=run_config)


if __name__ == "__main__":
    tf.app.run()
