"""MoP-JEPA: hard-assigned predictor mixtures for stochastic JEPA world models.

The library: data -> model -> train -> graph -> evaluate / execute -> results -> analysis.
It never imports ray or mlflow and never reads argv, environment variables or the cwd.
"""

__version__ = "0.1.0"
