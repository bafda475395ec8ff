import os
import jax
import jax.numpy as jnp
import numpy as np


class JAXAgent:
    def __init__(self, agent_cls, obs_space, act_space, config):
        self.devices = jax.local_devices()
        self._train = jax.pmap(lambda x: x, 'i', donate_argnums=[0])
        jax.config.update('jax_transfer_guard', 'disallow')
