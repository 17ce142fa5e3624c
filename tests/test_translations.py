"""The Thai catalog is complete: every message id has a translation and keeps its placeholders."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parent.parent / "survey_node/translations/th/LC_MESSAGES/messages.po"


def test_every_message_has_thai_with_the_same_placeholders():
    with open(PO, "rb") as fh:
        catalog = read_po(fh)
    untranslated, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        if not message.string:
            untranslated.append(message.id)
            continue
        wanted = sorted(re.findall(r"%\((\w+)\)[sdrf]", message.id))
        got = sorted(re.findall(r"%\((\w+)\)[sdrf]", message.string))
        if wanted != got:
            broken.append(message.id)
    assert not untranslated, f"no Thai for: {untranslated[:10]}"
    assert not broken, f"placeholders differ in: {broken[:10]}"
