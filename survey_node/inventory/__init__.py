"""The camera registry on the node: reading the files people have, mapping their columns,
normalising values (Thai digits, coordinates, DOPA codes) and importing them all-or-nothing.

Plain Python: nothing here imports Flask. SQL lives in ``survey_node.db.imports``.
"""
