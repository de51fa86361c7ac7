"""The pipeline side: run a report notebook, render it, publish it.

``render`` prepares a request (parameters and data checked before any kernel starts) and runs
it: ``execute`` (papermill), ``export`` (nbconvert and WeasyPrint), ``publish`` (atomic
switch, failures kept apart, the index), ``manifest`` (what a run was made from, and whether a
later one would make the same), ``progress`` (what the user sees). No pandas, no matplotlib.
"""
