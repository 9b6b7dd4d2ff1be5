#!/usr/bin/env python3
"""Converts the JWT fixtures of core/src/auth/fixtures into lines a C test reads.

Only the format changes; every check runs in C (test_ssecast.c):

    secret <jwt_secret of the HMAC tokens>
    key <name> @<absolute path of the public key PEM>
    token <name> <token>

Usage: tokens_to_text.py core/src/auth/fixtures > tokens.txt
"""

import json
import sys
from pathlib import Path


def main(folder):
    folder = Path(folder).resolve()
    doc = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
    print("secret", doc["secret"])
    for name in ("rsa", "ec", "ed25519"):
        print("key", name, f"@{folder / (name + '_public.pem')}")
    for name, fixture in doc["tokens"].items():
        print("token", name, fixture["token"])


if __name__ == "__main__":
    main(sys.argv[1])
