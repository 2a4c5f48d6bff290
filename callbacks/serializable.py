"""The base class of the package's callbacks: Keras callbacks that Keras can
also serialize (`keras.saving.serialize_keras_object` / `deserialize…`)."""

import keras


class SerializableCallback(keras.callbacks.Callback):
    """A callback rebuilt from its `get_config()` by `from_config`."""

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)
