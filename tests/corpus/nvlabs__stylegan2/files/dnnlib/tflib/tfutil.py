import tensorflow as tf

def init_tf(config_dict=None):
    cfg = tf.ConfigProto()
    cfg.gpu_options.allow_growth = True
    sess = tf.Session(config=cfg)
    return sess

def run(*args):
    return tf.get_default_session().run(*args)
