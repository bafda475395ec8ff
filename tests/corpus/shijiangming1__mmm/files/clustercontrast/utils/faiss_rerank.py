import faiss
import torch
import torch.nn.functional as F

def compute_jaccard_distance(features, k1=20, k2=6):
    res = faiss.StandardGpuResources()
    return F.normalize(features, dim=1)
