from pathlib import Path
from setuptools import setup, find_packages

REQUIRES_PYTHON = ">=3.9.0"
HERE = Path(__file__).parent


def get_requirements(path=HERE / "requirements.txt"):
    reqs, extra = [], []
    for line in open(path).read().splitlines():
        if line.startswith("--extra-index-url "):
            extra.append(line[18:])
        else:
            reqs.append(line)
    return reqs, extra


setup(
    name="dinov2",
    version="0.0.1",
    python_requires=REQUIRES_PYTHON,
    packages=find_packages(),
    install_requires=get_requirements()[0],
)
