import torch
import pytorch_lightning as pl
from apex import optimizers
from fast_transformers.builders import TransformerEncoderBuilder
from fast_transformers.masking import LengthMask

class LightningModule(pl.LightningModule):
    def configure_optimizers(self):
        return optimizers.FusedLAMB(self.parameters(), lr=1e-4)
