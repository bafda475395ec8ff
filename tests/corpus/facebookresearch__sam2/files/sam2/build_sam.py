import torch
from hydra import compose
from hydra.utils import instantiate

def build_sam2(config_file, ckpt_path=None, device="cuda"):
    cfg = compose(config_name=config_file)
    model = instantiate(cfg.model, _recursive_=True)
    return model.to(device).eval()
