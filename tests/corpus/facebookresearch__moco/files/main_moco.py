import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.parallel
import torchvision.models as models

import moco.builder


def main_worker(gpu, ngpus_per_node, args):
    dist.init_process_group(backend="nccl", init_method=args.dist_url,
                            world_size=args.world_size, rank=args.rank)
    model = moco.builder.MoCo(models.__dict__[args.arch], args.moco_dim)
    model = torch.nn.parallel.DistributedDataParallel(model.cuda(gpu), device_ids=[gpu])
    return model


def main(args):
    mp.spawn(main_worker, nprocs=torch.cuda.device_count(), args=(torch.cuda.device_count(), args))
