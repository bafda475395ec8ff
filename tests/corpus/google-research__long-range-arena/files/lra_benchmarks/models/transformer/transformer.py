from flax import nn
import jax.numpy as jnp
from lra_benchmarks.models.layers import common_layers


class TransformerBlock(nn.Module):
    def apply(self, inputs, qkv_dim, mlp_dim, num_heads, dtype=jnp.float32, dropout_rate=0.1, deterministic=False):
        x = nn.LayerNorm(inputs)
        x = nn.SelfAttention(x, num_heads=num_heads, dtype=dtype, qkv_features=qkv_dim, deterministic=deterministic)
        return x + inputs
