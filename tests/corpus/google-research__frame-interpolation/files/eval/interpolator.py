from typing import List, Optional
import numpy as np
import tensorflow as tf


class Interpolator:
    def __init__(self, model_path: str, align: Optional[int] = 64) -> None:
        self._model = tf.compat.v2.saved_model.load(model_path)
        self._align = align

    def __call__(self, x0: np.ndarray, x1: np.ndarray, dt: np.ndarray) -> np.ndarray:
        inputs = {'x0': x0, 'x1': x1, 'time': dt[..., np.newaxis]}
        return self._model(inputs, training=False)['image'].numpy()
