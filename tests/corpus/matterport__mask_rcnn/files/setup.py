from setuptools import setup

setup(
    name='mask-rcnn',
    version='2.1',
    packages=["mrcnn"],
    install_requires=open('requirements.txt').read().splitlines(),
    python_requires='>=3.4',
)
