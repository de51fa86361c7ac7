"""The data: a folder of CSV tables described by ``data/datapackage.json``.

``package`` owns the descriptor and the folder's fingerprint (a leaf: nothing here imports
it back); ``quick`` proves a folder valid without Frictionless where it can; ``validation``
checks a folder against the schema and the project's rules; ``dataset`` loads it into typed
DataFrames. Loading validates first; validation never loads.
"""
