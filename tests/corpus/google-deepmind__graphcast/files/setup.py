from setuptools import setup

setup(
    name="graphcast",
    version="0.1",
    description="GraphCast: Learning skillful medium-range global weather forecasting",
    packages=["graphcast"],
    install_requires=[
        "cartopy", "chex", "colabtools", "dask", "dm-haiku", "jax", "jraph",
        "matplotlib", "numpy", "pandas", "rtree", "scipy", "dm-tree",
        "trimesh", "typing_extensions", "xarray",
    ],
    classifiers=[
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
    ],
)
