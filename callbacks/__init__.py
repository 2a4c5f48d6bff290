"""Keras callbacks for course-style training (installed as `keras_optims.callbacks`)."""
