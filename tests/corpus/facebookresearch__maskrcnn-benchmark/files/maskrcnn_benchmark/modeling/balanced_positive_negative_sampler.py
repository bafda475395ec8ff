import torch


class BalancedPositiveNegativeSampler(object):
    def __call__(self, matched_idxs):
        pos_idx = []
        for matched_idxs_per_image in matched_idxs:
            pos_idx_per_image_mask = torch.zeros_like(matched_idxs_per_image, dtype=torch.bool)
            pos_idx.append(pos_idx_per_image_mask)
        return pos_idx
