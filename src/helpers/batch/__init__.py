"""Batches: a plan of many briefs (``plan``), checked into jobs (``prepare``), run in parallel,
incrementally and under a lock (``runner``), each job's end told (``outcomes``), retried by one
policy (``retries``), on local worker processes (``local``, running ``worker``) or a Dask
cluster (``cluster``), both behind one interface (``executors``)."""
