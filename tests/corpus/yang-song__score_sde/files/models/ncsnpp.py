import flax.linen as nn
import jax.numpy as jnp


class NCSNpp(nn.Module):
    config: dict

    @nn.compact
    def __call__(self, x, time_cond, train=True):
        return nn.Conv(features=128, kernel_size=(3, 3))(x)
