"""Step-by-step verification against hand-derived NumPy math
(installed as `keras_optims.verification`)."""
