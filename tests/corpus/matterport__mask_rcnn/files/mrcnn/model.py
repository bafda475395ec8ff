import tensorflow as tf
import keras
import keras.backend as K
import keras.layers as KL
import keras.engine as KE
import keras.models as KM

def log2_graph(x):
    return tf.log(x) / tf.log(2.0)

class ProposalLayer(KE.Layer):
    def call(self, inputs):
        return tf.to_float(inputs[0])
