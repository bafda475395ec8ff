from absl import app
from absl import flags
import tensorflow.compat.v1 as tf
from tensorflow.compat.v1 import estimator as tf_estimator

FLAGS = flags.FLAGS


def main(argv):
    cluster = tf.distribute.cluster_resolver.TPUClusterResolver(FLAGS.tpu_name)
    run_config = tf.estimator.tpu.RunConfig(cluster=cluster)
    estimator = tf.estimator.tpu.TPUEstimator(model_fn=None, config=run_config, use_tpu=True)


if __name__ == '__main__':
    tf.disable_v2_behavior()
    app.run(main)
