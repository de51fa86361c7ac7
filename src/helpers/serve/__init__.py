"""``brief serve``: a parameter form and on-demand briefs over the render pipeline.

A small Starlette application (:mod:`.app`) whose forms come from the notebooks' pydantic
schemas (:mod:`.forms`), whose renders go through :func:`helpers.pipeline.render.render_job`
with one warm zygote kept for the server's life and a bounded queue (:mod:`.jobs`), and whose
every request passes the checks in :mod:`.security` (token, CSRF, Origin, Host, paths).
Starlette, uvicorn and python-multipart come with the ``[serve]`` extra.
"""
