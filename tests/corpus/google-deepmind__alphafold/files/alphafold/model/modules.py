import haiku as hk
import jax
import jax.numpy as jnp


class EvoformerIteration(hk.Module):
    def __call__(self, activations, masks, is_training=True, safe_key=None):
        return jax.tree_map(lambda x: x, activations)
