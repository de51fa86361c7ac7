"""The pipeline side: run a report notebook, render it, publish it.

``request`` says what a render is asked to do (and how one that partly failed is reported);
``render`` checks a request (parameters and data, before any kernel starts) and runs it:
``execute`` (papermill), ``export`` (nbconvert and WeasyPrint), ``publish`` (run folders,
atomic switch, failures kept apart), ``index`` (the page listing every run), ``manifest``
(what a run was made from), ``uptodate`` (whether a later run would make the same),
``progress`` (what the user sees). No pandas, no matplotlib.
"""
