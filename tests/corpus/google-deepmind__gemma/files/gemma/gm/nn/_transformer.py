import jax
import jax.numpy as jnp
from flax import linen as nn


class Transformer(nn.Module):
    @nn.compact
    def __call__(self, tokens):
        x = nn.Embed(num_embeddings=256000, features=2304)(tokens)
        return jax.nn.softmax(x)
