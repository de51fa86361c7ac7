"""Batches: a plan of many briefs (``plan``), run in parallel, incrementally and under a lock
(``runner``), on local worker processes or a Dask cluster (``executors``)."""
