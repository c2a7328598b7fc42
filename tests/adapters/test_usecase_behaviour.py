"""Each use case's logic fires on its matching sample events and not on its non-matching ones.

Sigma detections run on a real engine: pySigma's SQLite backend turns the detection into SQL that
runs over the samples in an in-memory SQLite table (columns compare case-insensitively, like Sigma).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence

import pytest
import yaml

from huntbrief.catalog.usecases import SampleEvent, UseCase, load_usecases

sigma_collection = pytest.importorskip("sigma.collection")
sqlite_backend = pytest.importorskip("sigma.backends.sqlite")

SIGMA_USECASES = sorted((uc for uc in load_usecases() if uc.sigma), key=lambda uc: uc.id)


def sigma_sql(sigma: str) -> str:
    """The SQLite WHERE query pySigma's SQLite backend makes of a Sigma logsource + detection."""
    rule = {"title": "behaviour check", "status": "test", **yaml.safe_load(sigma)}
    collection = sigma_collection.SigmaCollection.from_dicts([rule])
    (query,) = sqlite_backend.sqliteBackend().convert(collection)
    return str(query).replace("<TABLE_NAME>", "events")


def _regexp(pattern: str, value: object) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def detection_fields(sigma: str) -> set[str]:
    """The field names a Sigma detection reads."""
    detection = yaml.safe_load(sigma)["detection"]
    selections = [s for k, s in detection.items() if k != "condition"]
    maps = [m for s in selections for m in (s if isinstance(s, list) else [s])]
    return {str(key).split("|", 1)[0] for m in maps for key in m}


def matching_rows(sql: str, events: Sequence[SampleEvent], fields: Iterable[str] = ()) -> list[int]:
    """Indexes of the events the query selects; `fields` absent from an event are NULL."""
    columns = sorted({name for event in events for name, _ in event.fields} | set(fields))
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, _regexp, deterministic=True)
    spec = ", ".join(f'"{c}" COLLATE NOCASE' for c in columns)
    db.execute(f"CREATE TABLE events (row_index INTEGER, {spec})")
    for index, event in enumerate(events):
        names = ", ".join(f'"{n}"' for n, _ in event.fields)
        marks = ", ".join("?" for _ in event.fields)
        db.execute(
            f"INSERT INTO events (row_index, {names}) VALUES (?, {marks})",
            (index, *(v for _, v in event.fields)),
        )
    return sorted(row[0] for row in db.execute(sql.replace("SELECT *", "SELECT row_index", 1)))


@pytest.mark.parametrize("usecase", SIGMA_USECASES, ids=lambda uc: uc.id)
def test_sigma_detection_fires_on_match_samples_only(usecase: UseCase) -> None:
    sql, fields = sigma_sql(usecase.sigma), detection_fields(usecase.sigma)
    for event in usecase.samples_match:
        assert matching_rows(sql, [event], fields) == [0], f"does not fire on {event.as_dict()}\n{sql}"
    for event in usecase.samples_no_match:
        assert matching_rows(sql, [event], fields) == [], f"fires on {event.as_dict()}\n{sql}"


def test_the_engine_distinguishes_what_sigma_distinguishes() -> None:
    sigma = yaml.safe_dump(
        {
            "logsource": {"category": "process_creation", "product": "windows"},
            "detection": {
                "selection": {"Image|endswith": "\\sc.exe", "CommandLine|contains": "\\Users\\"},
                "filter": {"CommandLine|re": "(?i)spooler"},
                "condition": "selection and not filter",
            },
        }
    )
    sql = sigma_sql(sigma)
    hit = SampleEvent((("Image", "C:\\Windows\\SC.EXE"), ("CommandLine", "sc create x C:\\users\\a.exe")))
    miss_path = SampleEvent(
        (("Image", "C:\\Windows\\sc.exe"), ("CommandLine", "sc create x C:\\Windows\\a.exe"))
    )
    miss_filter = SampleEvent((("Image", "C:\\Windows\\sc.exe"), ("CommandLine", "sc C:\\Users\\Spooler")))
    assert matching_rows(sql, [hit, miss_path, miss_filter]) == [0]
    absent = SampleEvent((("Image", "C:\\Windows\\sc.exe"),))  # no CommandLine at all: no match
    assert matching_rows(sql, [absent], detection_fields(sigma)) == []
