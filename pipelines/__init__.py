"""Entry points at the edge: CLIs, Ray Tune, Ray actors, MLflow. The library never imports these."""
