"""bench/surabaya_areas.py: another city's complaints read with this city's areas file."""

from __future__ import annotations

import pytest

from bench.surabaya_areas import own_areas


def test_own_areas_counts_distinct_texts_given_an_area(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"text": "saya warga kota Surabaya kecamatan Gayungan, KTP belum jadi"},
        {"text": "banjir di kel. Sawah Lebar"},
        {"text": "banjir di kel.  Sawah Lebar"},  # another text, though it reads the same
        {"text": "banjir di kel. Sawah Lebar"},  # a repeat counts once
        {"text": "lampu mati di kelurahan simomulyo"},
    ]
    own_areas(rows, 0.7)
    out = capsys.readouterr().out
    assert "the same 4 distinct texts" in out
    assert "2 given an area (50.00%), 2 at confidence >= 0.7" in out
    assert "2  'kelurahan sawah lebar' read as Sawah Lebar" in out
