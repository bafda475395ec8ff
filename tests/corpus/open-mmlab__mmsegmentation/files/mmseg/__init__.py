import mmcv
from packaging.version import parse

MMCV_MIN = '1.3.13'
MMCV_MAX = '1.4.0'
__version__ = '0.19.0'
