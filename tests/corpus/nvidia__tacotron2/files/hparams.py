import tensorflow as tf
from text import symbols


def create_hparams(hparams_string=None, verbose=False):
    hparams = tf.contrib.training.HParams(
        epochs=500,
        fp16_run=False,
        distributed_run=False,
        n_symbols=len(symbols),
    )
    if hparams_string:
        tf.logging.info('Parsing command line hparams: %s', hparams_string)
        hparams.parse(hparams_string)
    return hparams
