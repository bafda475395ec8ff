import tensorflow as tf


class MBConvBlock(tf.keras.layers.Layer):
    def call(self, inputs, training):
        return tf.nn.swish(inputs)
