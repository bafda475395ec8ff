import argparse

from guided_diffusion import dist_util, logger
from guided_diffusion.train_util import TrainLoop


def main():
    dist_util.setup_dist()
    logger.configure()


if __name__ == "__main__":
    main()
