"""Image bundle decisions (§10.5): mtimes as Go marshals them, the sources label, pin/unpin, ctr output."""

from __future__ import annotations

import json

import pytest

from k0spy.worker import images as im

NS = 1_700_000_000_123_456_789


@pytest.mark.parametrize(("ns", "text"), [
    (NS, "2023-11-14T22:13:20.123456789Z"),
    (1_700_000_000_000_000_000, "2023-11-14T22:13:20Z"),
    (1_700_000_000_500_000_000, "2023-11-14T22:13:20.5Z"),
])
def test_format_mtime_like_go(ns: int, text: str) -> None:
    assert im.format_mtime(ns) == text
    assert im.parse_mtime(text) == ns


@pytest.mark.parametrize("text", ["2023-11-15T00:13:20.123456789+02:00",
                                  "2023-11-14T17:13:20.123456789-05:00"])
def test_parse_mtime_with_offsets(text: str) -> None:
    assert im.parse_mtime(text) == NS


def test_parse_mtime_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        im.parse_mtime("yesterday")


def test_sources_round_trip_and_bad_labels() -> None:
    sources = {"/b,1.tar": NS, "/a.tar": NS + 1}
    encoded = im.encode_sources(sources)
    assert list(json.loads(encoded)) == ["/a.tar", "/b,1.tar"]
    assert im.decode_sources(encoded) == sources
    assert im.decode_sources(None) == {} and im.decode_sources("") == {}
    assert im.decode_sources("{not json") == {} and im.decode_sources('["x"]') == {}
    assert im.decode_sources('{"/a": "never"}') == {}


def test_to_import_new_and_changed_only() -> None:
    present = {"/i/a": 1, "/i/b": 2, "/i/c": 3}
    assert im.to_import(present, {"/i/a": 1, "/i/b": 99}) == ["/i/b", "/i/c"]
    assert im.to_import({}, {"/i/a": 1}) == []


def test_pin_change_adds_bundle_and_drops_stale_sources() -> None:
    labels = {im.SOURCES_LABEL: im.encode_sources({"/i/old": 5, "/i/other": 7, "/i/gone": 9})}
    change = im.pin_change("img:1", labels, "/i/new", 11, {"/i/old": 6, "/i/other": 7, "/i/new": 11})
    assert change.image == "img:1"
    values = dict(change.labels)
    assert values[im.PINNED_LABEL] == "pinned"
    assert im.decode_sources(values[im.SOURCES_LABEL]) == {"/i/other": 7, "/i/new": 11}


def pinned(sources: dict[str, int]) -> dict[str, str]:
    return {im.PINNED_LABEL: "pinned", im.SOURCES_LABEL: im.encode_sources(sources)}


def test_unpin_change() -> None:
    assert im.unpin_change("x", pinned({"/a": 1}), {"/a": 1}) is None  # still there
    assert im.unpin_change("x", {im.SOURCES_LABEL: im.encode_sources({"/a": 1})}, {}) is None  # not pinned
    assert im.unpin_change("x", {im.PINNED_LABEL: "pinned"}, {}) is None  # pinned by someone else
    shrink = im.unpin_change("x", pinned({"/a": 1, "/b": 2}), {"/a": 1, "/b": 3})
    assert shrink is not None and dict(shrink.labels) == {im.SOURCES_LABEL: im.encode_sources({"/a": 1})}
    gone = im.unpin_change("x", pinned({"/a": 1}), {"/a": 2})
    assert gone is not None and dict(gone.labels) == {im.PINNED_LABEL: "", im.SOURCES_LABEL: ""}


def test_parse_import_output() -> None:
    out = ("unpacking docker.io/library/a:1 (sha256:0123abcd)...done\n"
           "unpacking registry.k8s.io/pause:3.10 (sha256:ffee)...done\n"
           "unpacking docker.io/library/a:1 (sha256:0123abcd)...done\n"
           "ctr: something else\n")
    assert im.parse_import_output(out) == ["docker.io/library/a:1", "registry.k8s.io/pause:3.10"]
    assert im.parse_import_output("") == []
