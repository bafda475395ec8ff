import einops
import torch
import torch as th
import torch.nn as nn

from ldm.modules.diffusionmodules.util import conv_nd, linear, zero_module, timestep_embedding
from ldm.models.diffusion.ddpm import LatentDiffusion


class ControlLDM(LatentDiffusion):
    @torch.no_grad()
    def get_input(self, batch, k, bs=None, *args, **kwargs):
        control = batch[self.control_key]
        control = einops.rearrange(control, 'b h w c -> b c h w')
        return control.to(memory_format=torch.contiguous_format).float()
