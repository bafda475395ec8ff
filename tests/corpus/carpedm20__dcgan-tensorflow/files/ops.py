import tensorflow as tf

try:
    image_summary = tf.image_summary
    merge_summary = tf.merge_summary
except AttributeError:
    image_summary = tf.summary.image
    merge_summary = tf.summary.merge


class batch_norm(object):
    def __call__(self, x, train=True):
        return tf.contrib.layers.batch_norm(x, decay=0.9, updates_collections=None,
                                            epsilon=1e-5, scale=True, is_training=train)
