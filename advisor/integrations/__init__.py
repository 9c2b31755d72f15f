"""Where AutoML pipelines already are: Optuna (and Ray Tune through it) and Kubeflow Katib.

:mod:`advisor.integrations.encoding` turns an architecture into flat parameters and back (what a
hyperparameter tool stores per trial); :mod:`advisor.integrations.proposals` fetches the advisor's
ranking page by page, in-process or from a server; :mod:`advisor.integrations.optuna` (the
``optuna`` extra) and :mod:`advisor.integrations.katib` build on them. docs/INTEGRATIONS.md shows
each in use.
"""
