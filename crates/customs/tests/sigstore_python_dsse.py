"""sigstore-python's low-level DSSE check over DSSE envelopes customs wrote.

Usage: sigstore_python_dsse.py KEY.pub ENVELOPE.json...
Each ENVELOPE.json is a bare DSSE envelope or a Sigstore bundle (its dsseEnvelope is taken).
For each, prints "VERIFIED <sha256 of the payload>" when sigstore.dsse._verify accepts it with
the key, else "REJECTED <reason>". The payload type is checked to be in-toto, as the caller of
_verify must.
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from sigstore.dsse import Envelope, _verify
from sigstore.errors import Error

key = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
for path in sys.argv[2:]:
    doc = json.load(open(path, "rb"))
    if "dsseEnvelope" in doc:
        doc = doc["dsseEnvelope"]
    try:
        env = Envelope._from_json(json.dumps(doc))
        payload = _verify(key, env)
        if env._inner.payload_type != "application/vnd.in-toto+json":
            raise ValueError(f"payload type {env._inner.payload_type}")
        print("VERIFIED", hashlib.sha256(payload).hexdigest())
    except (Error, ValueError) as e:
        print("REJECTED", e)
