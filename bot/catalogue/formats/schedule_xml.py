"""frab / pentabarf / pretalx / c3voc hub `schedule.xml` (CCC, FOSDEM): the data of schedule.json, read the same way.

Every shape these tools have written is read: events in rooms in days (`schedule > day > room > event`,
frab, pretalx, the c3voc hub), and pentabarf's oldest shape with the events directly in the day
(`schedule > day > event`, FOSDEM 2007), where the room is only the event's own `<room>` and there is
no `<date>`. An event's `<room>` child wins over the room around it. People are told apart by the
person's `guid` attribute (c3voc hub), else its `id` or `code`, else the name.

The XML is parsed by expat with a guard: a document type with an internal subset, or any entity
declaration, is refused before it can expand (the "billion laughs" family), and external entities and
DTDs are never fetched. Fields that are too large fail like in every other format.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from xml.parsers import expat

from bot.catalogue.formats.document import CatalogueDocument
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
            f"column {exc.offset + 1}{_encoding_hint(data)}"
        ) from None
    return builder.close()


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _encoding_hint(data: bytes) -> str:
    """Why the parser may have failed: text that is not in the encoding the file declares (UTF-8 by default)."""
    declared = _DECLARED.match(data[:200])
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding.replace("_", "-") not in ("utf-8", "utf8"):
        return ""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        said = "declares UTF-8" if declared else "declares no encoding, so it must be UTF-8"
        return (
            f". The file {said}, but byte {exc.start} (line {line}) is not UTF-8: it looks like Latin-1 or "
            "Windows-1252 text. Save it as UTF-8, or declare its real encoding "
            '(<?xml version="1.0" encoding="ISO-8859-1"?>)'
        )
    return ""


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a frab/pentabarf/pretalx schedule.xml."""
    root = parse_xml(data, filename)
    if root.tag != "schedule":
        raise CatalogueFormatError(f"{filename}: not a schedule.xml: the root element is <{root.tag[:40]}>")
    conference_element = root.find("conference")
    if conference_element is None:
        raise CatalogueFormatError(f"{filename}: schedule: element <conference> is missing")
    conference = Record(filename, "conference", _fields(conference_element), "conference.")
    events = []
    nested = flat = 0
    for position, (element, day, room) in enumerate(_walk(root, None, None), start=1):
        fields = _event(element)
        if not fields.get("room") and room:
            fields["room"] = room
        nested += room is not None
        flat += room is None and day is not None
        events.append((event_record(filename, position, fields), day))
    generator = root.find("generator")
    made_by = generator.get("name") if generator is not None else None
    shape = f"{made_by} schedule.xml" if made_by else "frab/pentabarf schedule.xml"
    if flat and not nested:
        shape = "pentabarf schedule.xml, events directly in days"
    return build(conference, events, filename, options, base=conference.url("base_url"), progress=progress, shape=shape)


def _walk(
    element: ET.Element, day: str | None, room: str | None
) -> Iterator[tuple[ET.Element, str | None, str | None]]:
    """Every <event> with the date of its <day> and the name of the <room> around it, in document order."""
    for child in element:
        if child.tag == "event":
            yield child, day, room
        elif child.tag == "day":
            yield from _walk(child, child.get("date") or day, room)
        elif child.tag == "room" and len(child):
            yield from _walk(child, day, child.get("name") or room)
        elif child.tag not in ("conference", "persons", "links", "attachments") and len(child):
            yield from _walk(child, day, room)


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
        {"guid": person.get("guid"), "id": person.get("id"), "code": person.get("code"), "public_name": person.text}
        for person in element.iterfind("persons/person")
    ]
    fields["links"] = [{"url": link.get("href"), "title": link.text} for link in element.iterfind("links/link")]
    fields["attachments"] = [
        {"url": item.get("href"), "title": item.text or item.get("type")}
        for item in element.iterfind("attachments/attachment")
    ]
    return fields
