"""Trains a small CNN on MNIST-shaped digits for one epoch and saves a checkpoint.

The digits are drawn here (seven-segment strokes with noise and jitter), so nothing is
downloaded: the example runs on an air-gapped lab server as well as on a laptop.
"""
import argparse
import os
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

# Which of the seven segments (a..g) each digit lights.
SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg",
    5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}
# Each segment as (row0, row1, col0, col1) on a 28x28 canvas.
BOXES = {
    "a": (4, 6, 8, 20), "b": (5, 14, 18, 20), "c": (14, 23, 18, 20),
    "d": (22, 24, 8, 20), "e": (14, 23, 8, 10), "f": (5, 14, 8, 10), "g": (13, 15, 8, 20),
}


def make_digits(n, generator):
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = torch.zeros(n, 1, 28, 28)
    shifts = torch.randint(-3, 4, (n, 2), generator=generator)
    for i in range(n):
        dy, dx = shifts[i].tolist()
        for seg in SEGMENTS[int(labels[i])]:
            r0, r1, c0, c1 = BOXES[seg]
            images[i, 0, r0 + dy:r1 + dy, c0 + dx:c1 + dx] = 1.0
    images += 0.3 * torch.randn(images.shape, generator=generator)
    return images, labels


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
                                        nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="checkpoints/mnist_cnn.pt")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__} on {device}"
          f"{' (' + torch.cuda.get_device_name(0) + ')' if device == 'cuda' else ''}")
    g = torch.Generator().manual_seed(0)
    x, y = make_digits(args.samples, g)
    split = int(0.9 * len(x))
    train = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=args.batch_size,
                       shuffle=True, num_workers=args.workers)
    test_x, test_y = x[split:].to(device), y[split:].to(device)

    model = Net().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.time()
    model.train()
    for step, (xb, yb) in enumerate(train):
        xb, yb = xb.to(device), yb.to(device)
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    print(f"epoch 1: accuracy {accuracy:.3f} on {len(test_x)} held-out digits "
          f"({time.time() - start:.1f} s)")

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    torch.save({"model": model.state_dict(), "accuracy": accuracy}, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
