import tensorflow as tf
import tensorflow_addons as tfa


class FNode(tf.keras.layers.Layer):
    def call(self, feats, training):
        return tf.add_n(feats)


class EfficientDetNet(tf.keras.Model):
    def call(self, inputs, training):
        return inputs
