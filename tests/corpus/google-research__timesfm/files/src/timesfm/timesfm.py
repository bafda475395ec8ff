import logging
import multiprocessing
from typing import Any, Literal, Sequence

import einshape as es
import jax
import jax.numpy as jnp
import numpy as np
from paxml import checkpoints
from paxml import tasks_lib
from praxis import base_hyperparams
from praxis import base_layer
from praxis import pax_fiddle
from praxis import py_utils
from praxis.layers import normalizations
from praxis.layers import transformers


class TimesFm:
    def load_from_checkpoint(self, checkpoint_path: str, step: int | None = None) -> None:
        self._key1, self._key2 = jax.random.split(jax.random.PRNGKey(42))
        self._pmapped_decode = jax.pmap(lambda x: x, axis_name="batch")
