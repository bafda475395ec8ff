import tensorflow as tf
import tensorflow.compat.v1 as tfv1


def train():
    iterator = tfv1.data.Iterator.from_structure(tfv1.data.get_output_types(None))
    with tfv1.Session(config=tfv1.ConfigProto()) as session:
        pass
