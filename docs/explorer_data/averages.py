"""The averages panel: a year of daily temperatures (the verification
suite's seeded model: 12 + 10·sin(2π(t − 100)/365) + 3·noise) fed to the
`EWMA` callback as Keras logs a 365-batch epoch, at each β of `BETAS`, with
and without bias correction."""

from explorer_data.common import rounded

DAYS = 365
# The course's 0.5, 0.9 and 0.98 ("about 2, 10 and 50 days"), and two between.
BETAS = (0.5, 0.8, 0.9, 0.95, 0.98)


def averages(beta, bias_correction, series):
    """The `EWMA` callback's averages of `series` (unrounded), fed as Keras
    logs one epoch of len(series) batches."""
    from keras_optims.verification.suite import ewma_by_callback

    return ewma_by_callback(series, beta, bias_correction, per_epoch=len(series))


def temperatures():
    from keras_optims.verification.suite import temperatures

    return temperatures(days=DAYS, seed=0)


def panel():
    """The averages panel's data: the year of temperatures and the EWMA
    callback's averages of it at every β, with and without bias correction."""
    series = temperatures()
    return {
        "betas": list(BETAS),
        "series": rounded(series),
        "corrected": {f"{b:g}": rounded(averages(b, True, series)) for b in BETAS},
        "uncorrected": {f"{b:g}": rounded(averages(b, False, series)) for b in BETAS},
    }
