"""The kernel side: what runs inside a report notebook's kernel to build a brief.

``brief`` is the notebook-facing :class:`~helpers.report.brief.Brief` (``parameters_cell``
tells it which names the notebook's parameters cell set); it asks ``selection`` what the brief
may speak of, ``sourcing`` how far it can be trusted, ``narrative`` (with ``citations`` and
``formatting``) for the words, which gathers them from ``words``, ``attribution``,
``opening``, ``timeline_summary``, ``theme_sections``, ``powers`` and ``omissions``, and
``charts`` for the figures, drawn under ``theme.house_style``. Nothing here imports the
pipeline, the batch runner, the kernels or the CLI.
"""
