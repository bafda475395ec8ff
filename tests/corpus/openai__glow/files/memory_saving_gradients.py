import tensorflow as tf
import tensorflow.contrib.graph_editor as ge
from toposort import toposort

util = ge.util
