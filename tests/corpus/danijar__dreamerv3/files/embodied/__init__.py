__version__ = '1.1.0'

try:
    import colored_traceback
    colored_traceback.add_hook()
except ImportError:
    pass

from .core import *
