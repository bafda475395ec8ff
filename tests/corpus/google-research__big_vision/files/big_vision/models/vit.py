import flax.linen as nn
import jax.numpy as jnp


class Encoder1DBlock(nn.Module):
    mlp_dim: int = 3072

    @nn.compact
    def __call__(self, x, deterministic=True):
        y = nn.LayerNorm()(x)
        return x + nn.Dense(self.mlp_dim)(y)
