"""The 20 % set: which registry cameras are surveyed, and who goes where.

Two ways to form the set, both recorded as a *run* (who, when, how):

* :mod:`.committee` — the provincial working group's list (camera ids, or rows matched by
  id or by site name + position), with an optional reserve list;
* :mod:`.sample` — an auditable sample: rank by SHA-256(seed ‖ camera_id) and take
  ceil(fraction × N) per stratum, so anyone can re-derive the set from the seed.

:mod:`.replace` swaps a camera that cannot be surveyed for the next one in rank order from
its stratum, :mod:`.quota` counts progress against the target per province/amphoe/agency,
:mod:`.assign` hands each surveyor their share. Plain Python: no Flask here.
"""

from .runs import (  # noqa: F401
    EMPTY_PROPERTIES, REASONS, active_run, describe_run, geojson_properties,
)
