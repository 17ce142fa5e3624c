"""What an import is asked to do: the options the CLI, the admin page and the reader
process pass around. Kept apart from ``reading`` so that starting an import does not wait
for the reader's imports (geothai's tables, pyproj): a large file is read in a child."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportOptions:
    sheet: str | None = None
    columns: dict = field(default_factory=dict)   # field -> header text / number / letter / None
    header_row: int | None = None
    crs: int | None = None
    dry_run: bool = False
    default_province: str = ""
    actor: str | None = None
    display_name: str | None = None               # the name the user gave the file
    limits: dict = field(default_factory=dict)    # limits.SheetLimits fields (config [imports])
    # Cameras missing from the file stay unless this is set (and, from the admin page, the
    # count it confirmed still holds): see db.imports.CameraImport.
    remove_missing: bool = False
    expected_removals: int | None = None
    removal_scope: str = "all"                    # or "covered": only inside the file's area

    @classmethod
    def from_mapping(cls, spec: dict | None, **kwargs) -> "ImportOptions":
        spec = spec or {}
        return cls(columns=spec.get("columns") or {}, header_row=spec.get("header_row"), **kwargs)
