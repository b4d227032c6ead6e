"""Prefect deployment entry points (``prefect.yaml``): thin modules over :mod:`urbansound.flows`."""
