"""frab / pentabarf `schedule.xml` (CCC, FOSDEM): the same data as schedule.json, read the same way.

The XML is parsed by expat with a guard: a document type with an internal subset, or any entity
declaration, is refused before it can expand (the "billion laughs" family), and external entities and
DTDs are never fetched. Fields that are too large fail like in every other format.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from bot.catalogue.document import CatalogueDocument
from bot.catalogue.formats.fields import Record
from bot.catalogue.formats.options import ImportOptions, Progress
from bot.catalogue.formats.schedule_json import build, event_record
from bot.errors import CatalogueFormatError


class _Refused(Exception):
    """The document declares entities or a document type with an internal subset."""


def parse_xml(data: bytes | str, filename: str) -> ET.Element:
    """Parse XML into an element tree, refusing entity declarations and internal DTD subsets."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True

    def doctype(name: str, system_id: str | None, public_id: str | None, has_internal_subset: int) -> None:
        if has_internal_subset:
            raise _Refused(f"a document type with its own declarations (<!DOCTYPE {name} [...]>)")

    def entity(name: str, *_: Any) -> None:
        raise _Refused(f"an entity declaration (<!ENTITY {name} ...>)")

    def external(*_: Any) -> int:
        raise _Refused("a reference to an external entity")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise CatalogueFormatError(f"{filename}: refused: the XML holds {exc}; schedules need none") from None
    except expat.ExpatError as exc:
        raise CatalogueFormatError(
            f"{filename}: not well-formed XML: {expat.ErrorString(exc.code)} at line {exc.lineno}, "
            f"column {exc.offset + 1}"
        ) from None
    return builder.close()


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a frab/pentabarf schedule.xml."""
    root = parse_xml(data, filename)
    if root.tag != "schedule":
        raise CatalogueFormatError(f"{filename}: not a schedule.xml: the root element is <{root.tag[:40]}>")
    conference_element = root.find("conference")
    if conference_element is None:
        raise CatalogueFormatError(f"{filename}: schedule: element <conference> is missing")
    conference = Record(filename, "conference", _fields(conference_element), "conference.")
    events = []
    position = 0
    for day in root.iter("day"):
        for room in day.iter("room"):
            for element in room.iter("event"):
                position += 1
                events.append((event_record(filename, position, _event(element)), day.get("date")))
    return build(conference, events, filename, options, base=conference.url("base_url"), progress=progress)


def _fields(element: ET.Element) -> dict[str, Any]:
    """The element's attributes and the text of its simple children, as a schedule.json object has them."""
    fields: dict[str, Any] = dict(element.attrib)
    for child in element:
        if len(child) == 0:
            fields.setdefault(child.tag, child.text or "")
    return fields


def _event(element: ET.Element) -> dict[str, Any]:
    fields = _fields(element)
    fields["persons"] = [
        {"id": person.get("id"), "public_name": person.text or ""} for person in element.iterfind("persons/person")
    ]
    fields["links"] = [{"url": link.get("href"), "title": link.text} for link in element.iterfind("links/link")]
    fields["attachments"] = [
        {"url": item.get("href"), "title": item.text or item.get("type")}
        for item in element.iterfind("attachments/attachment")
    ]
    return fields
