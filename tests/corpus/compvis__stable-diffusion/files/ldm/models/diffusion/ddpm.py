import torch
import pytorch_lightning as pl
from pytorch_lightning.utilities.distributed import rank_zero_only

class DDPM(pl.LightningModule):
    pass
