from setuptools import setup
REQ = ["torch>=1.7", 'numpy']
setup(install_requires=REQ + ["tqdm"], python_requires=">=3.6", extras_require={"dev": ["pytest"]})
