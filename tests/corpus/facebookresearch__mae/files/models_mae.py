import torch
import torch.nn as nn
from timm.models.vision_transformer import PatchEmbed, Block
