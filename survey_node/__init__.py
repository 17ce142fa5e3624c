"""CCTV Survey Node: field verification of CCTV cameras, and its central registry."""
