"""The node's wired port (issue 18): finding cameras on the cabinet's switch by
WS-Discovery, a temporary address for a camera with a fixed one in another subnet, and
the doctor's view of the port. Plain Python: no Flask here."""
