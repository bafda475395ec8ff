"""A 2019-style Keras script: a small dense network on random data (TensorFlow 1.x API)."""
import numpy as np
import keras
from keras.layers import Dense

x = np.random.rand(512, 20).astype("float32")
y = (x.sum(axis=1) > 10).astype("float32")
model = keras.models.Sequential([Dense(32, activation="relu", input_shape=(20,)),
                                 Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=2, batch_size=32)
model.save("model.h5")
