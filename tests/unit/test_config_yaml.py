"""Safe YAML reading: go-yaml v2 scalars, duplicate keys, tabs, encodings, bombs, documents."""

from __future__ import annotations

import pytest

from k0spy.config.yamlsafe import MAX_CONFIG_BYTES, MAX_NODES, parse_yaml
from k0spy.errors import ConfigError


def parse(data: bytes) -> object:
    return parse_yaml(data, "k0s.yaml").value


def error(data: bytes) -> str:
    with pytest.raises(ConfigError) as info:
        parse_yaml(data, "k0s.yaml")
    assert len(info.value.issues) == 1
    return info.value.issues[0].message


def test_scalars_resolve_as_go_yaml_v2() -> None:
    doc = parse(
        b"a: 1\nb: yes\nc: y\nd: 2001-12-14\ne: 52:54:00:12:34:56\nf: 010\ng: 1e3\nh:\ni: '6443'\nj: 1.5\n"
    )
    assert doc == {
        "a": 1,
        "b": True,
        "c": True,
        "d": "2001-12-14",
        "e": "52:54:00:12:34:56",
        "f": 8,
        "g": 1000,
        "h": None,
        "i": "6443",
        "j": 1.5,
    }


def test_versions_stay_strings() -> None:
    assert parse(b"a: 1.2.3\nb: v1.0\nc: 0.1.0\n") == {"a": "1.2.3", "b": "v1.0", "c": "0.1.0"}


def test_block_scalar_with_indentation_indicator() -> None:
    assert parse(b"values: |2\n    indented\n  base\n") == {"values": "  indented\nbase\n"}


def test_duplicate_key_names_both_lines() -> None:
    message = error(b"spec:\n  api: {}\n  network: {}\n  api: {}\n")
    assert message == 'duplicate key "api" at line 4 (first defined at line 2)'


def test_tab_indentation() -> None:
    assert error(b"spec:\n\tapi: {}\n").startswith("tab character used for indentation at line 2, column 1")


def test_tab_inside_a_value_is_fine() -> None:
    assert parse(b"a: 'x\ty'\n") == {"a": "x\ty"}


def test_non_utf8_names_offset() -> None:
    assert error(b"spec:\n  api: \xff\n") == "not valid UTF-8: byte 0xff at offset 13 (line 2)"


def test_byte_order_marks_are_accepted() -> None:
    assert parse(b"\xef\xbb\xbfa: 1\n") == {"a": 1}
    assert parse("a: 1\n".encode("utf-16")) == {"a": 1}


def test_not_yaml() -> None:
    assert error(b"spec: [1, 2\n").startswith("not valid YAML at line 2, column 1")


def test_size_limit() -> None:
    assert "byte limit" in error(b"#" * (MAX_CONFIG_BYTES + 1))


def test_alias_bomb_refused_while_expanding() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    message = error("\n".join(lines).encode())
    assert message == f"YAML expands to more than {MAX_NODES} nodes (an alias bomb?); refused"


def test_recursive_alias() -> None:
    assert error(b"a: &a [*a]\n").startswith("recursive YAML alias") or "alias" in error(b"a: &a [*a]\n")


def test_merge_keys() -> None:
    assert parse(b"base: &b {p: 1, q: 2}\nthing:\n  <<: *b\n  q: 3\n") == {
        "base": {"p": 1, "q": 2},
        "thing": {"p": 1, "q": 3},
    }


def test_boolean_keys_become_strings_as_in_go() -> None:
    # go-yaml v2 reads y/yes/on as booleans, also as keys; sigs.k8s.io/yaml then writes them "true".
    assert parse(b"y: 1\nno: 2\n") == {"true": 1, "false": 2}


def test_only_first_document_counts() -> None:
    result = parse_yaml(b"a: 1\n---\nb: 2\n", "k0s.yaml")
    assert result.value == {"a": 1}
    assert "only the first" in result.warnings[0].message


def test_empty_document_is_none() -> None:
    assert parse(b"") is None
    assert parse(b"# just a comment\n") is None


def test_key_lines_are_remembered() -> None:
    doc = parse(b"a: 1\n\nb:\n  c: 2\n")
    assert doc.lines == {"a": 1, "b": 3}  # type: ignore[attr-defined]
    assert doc["b"].lines == {"c": 4}  # type: ignore[index]
