#!/usr/bin/env python3
"""Converts tests/vectors/events.json into a line format a C test reads easily.

Only the format changes; every check runs in C (test_ssecast.c). Each string
is hex-encoded UTF-8 (so CR, LF and NUL survive), "-" marks an absent field:

    config <key> <value>
    code <NAME> <number>
    vector <name> <topic> <data> <event> <id> <retry> <wire> <error>

Usage: vectors_to_text.py events.json > vectors.txt
"""

import json
import sys


def hex_or_dash(value):
    if value is None:
        return "-"
    return value.encode("utf-8").hex() or "="  # "=" is the empty string


def main(path):
    with open(path, encoding="utf-8") as file:
        doc = json.load(file)
    for key, value in doc["config"].items():
        print("config", key, value)
    for name, number in doc["error_codes"].items():
        print("code", name, number)
    for vector in doc["vectors"]:
        p = vector["publish"]
        data = p["data_hex"] or "=" if "data_hex" in p else hex_or_dash(p.get("data"))
        retry = p.get("retry")
        print(
            "vector",
            hex_or_dash(vector["name"]),
            hex_or_dash(p.get("topic")),
            data,
            hex_or_dash(p.get("event")),
            hex_or_dash(p.get("id")),
            "-" if retry is None else retry,
            hex_or_dash(vector.get("wire")),
            vector.get("error", "-"),
        )


if __name__ == "__main__":
    main(sys.argv[1])
