import tensorflow as tf
from tensorflow.python.ops import tensor_array_ops, control_flow_ops


class Generator(object):
    def __init__(self, num_emb, batch_size, emb_dim, hidden_dim):
        self.g_embeddings = tf.Variable(tf.random_normal([num_emb, emb_dim], stddev=0.1))
        self.x = tf.placeholder(tf.int32, shape=[batch_size, 20])
        gen_o = tensor_array_ops.TensorArray(dtype=tf.float32, size=20, dynamic_size=False, infer_shape=True)
        self.g_opt = tf.train.AdamOptimizer(0.01)
