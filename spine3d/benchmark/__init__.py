"""``spine3d benchmark``: the SIMSPINE evaluation end to end (multi-view + monocular + report).

Modules: :mod:`.multiview` (triangulation of the test subjects), :mod:`.monocular` (lifter training
and scoring), :mod:`.report` (tables and figures), :mod:`.run` (the orchestration the CLI calls).
"""
