from absl import app
import docker


def main(argv):
    client = docker.from_env()
