"""The kernel side: what runs inside a report notebook's kernel to build a brief.

``brief`` is the notebook-facing :class:`~helpers.report.brief.Brief`; it asks ``selection``
what the brief may speak of, ``sourcing`` how far it can be trusted, ``narrative`` (with
``citations`` and ``formatting``) for the words, and ``charts`` (with ``theme``) for the
figures. Nothing here imports the pipeline, the batch runner, the kernels or the CLI.
"""
