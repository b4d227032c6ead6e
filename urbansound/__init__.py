"""urbansound: a parallel batch pipeline for the Urban Sound challenge.

The package is a plain library, one module per stage; Prefect lives only in ``urbansound/flows/``.
"""

__version__ = "0.1.0"
