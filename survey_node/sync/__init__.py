"""Sync between survey nodes and the central registry (DESIGN.md section 6).

``protocol`` is shared by both sides (manifest schema, validation, content hashes);
``client`` is the node side, ``server`` the registry's Flask app, ``registry`` the
registry's services over its store.
"""
