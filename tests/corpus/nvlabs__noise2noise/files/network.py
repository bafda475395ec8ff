import tensorflow as tf

def conv(n, name, fmaps, **kwargs):
    with tf.variable_scope(name):
        w = tf.get_variable('weight', shape=[3, 3, n.shape[1].value, fmaps])
        return tf.nn.conv2d(n, w, strides=[1, 1, 1, 1], padding='SAME', data_format='NCHW')
