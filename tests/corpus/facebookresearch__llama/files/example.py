import os
import torch
import fire
from fairscale.nn.model_parallel.initialize import initialize_model_parallel

def setup_model_parallel():
    local_rank = int(os.environ.get("LOCAL_RANK", -1))
    torch.distributed.init_process_group("nccl")
    initialize_model_parallel(int(os.environ.get("WORLD_SIZE", -1)))
    torch.cuda.set_device(local_rank)
    torch.set_default_tensor_type(torch.cuda.HalfTensor)
    return local_rank
