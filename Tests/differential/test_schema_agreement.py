"""Differential test: `controller schema` (JSON Schema 2020-12, checked by Python's jsonschema)
must agree with `controller validate` on which files are valid.

- every manifest in servers/ and every config layer in config/ is valid for both;
- every case of the broken corpus is invalid for both, except cases marked
  `# schema: blind (...)`, whose rule JSON Schema cannot express (name equals the file's stem,
  duration ranges, cross-field rules, the alias budget).

YAML is read with the rules the controller uses (YAML 1.2 core, restricted): only plain
`true`/`false` are booleans, only decimal numbers are numbers, no timestamps, no merge keys,
duplicate keys are an error.
"""
import glob
import json
import os
import re
import subprocess

import jsonschema
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROLLER = os.environ.get("CONTROLLER", os.path.join(ROOT, ".build", "debug", "controller"))
CORPUS = os.path.join(ROOT, "Tests", "DesiredTests", "Corpus")


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core resolution as the controller applies it."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(None, None, "mapping keys must be scalars", key_node.start_mark)
            # The controller's keys are always text: `123:` is the key "123", not a number.
            key_node.tag = "tag:yaml.org,2002:str"
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


CoreLoader.yaml_implicit_resolvers = {}
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


# Decimal only, as the controller reads them: PyYAML would take `0144` as octal.
CoreLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node), 10))


def ecma_pattern(validator, pattern, instance, schema):
    """`pattern` with ECMA-262 semantics for `$`: the end of the text, where Python's `$` also
    matches before a final newline (so "api.github.com\\n" would pass)."""
    if not validator.is_type(instance, "string"):
        return
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    if not re.search(python, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


ECMAValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": ecma_pattern})


def schema(kind):
    out = subprocess.run([CONTROLLER, "schema", "--kind", kind], check=True, capture_output=True, text=True).stdout
    return ECMAValidator(json.loads(out))


VALIDATORS = {}


def schema_accepts(path, kind):
    validator = VALIDATORS.setdefault(kind, schema(kind))
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if len(raw) > 1 << 20:
            return False
        document = yaml.load(raw.decode("utf-8"), Loader=CoreLoader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    if document is None:
        return False if kind == "manifest" else True
    return validator.is_valid(document)


def header(path):
    with open(path, "rb") as f:
        lines = f.read(4096).decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.startswith("#")]


def corpus_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.yaml")) + glob.glob(os.path.join(CORPUS, "config", "*.yaml"))):
        kind = "config" if os.sep + "config" + os.sep in path else "manifest"
        cases.append(pytest.param(path, kind, id=os.path.relpath(path, CORPUS)))
    return cases


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "servers", "*.yaml"))), ids=os.path.basename)
def test_catalogue_manifest_is_valid_for_the_schema(path):
    assert schema_accepts(path, "manifest"), f"{path}: the JSON Schema rejects a manifest the validator accepts"


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "config", "*.yaml"))), ids=os.path.basename)
def test_config_layer_is_valid_for_the_schema(path):
    assert schema_accepts(path, "config")


def test_repository_is_valid_for_the_validator():
    result = subprocess.run([CONTROLLER, "validate", "--root", ROOT], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("path,kind", corpus_cases())
def test_broken_case_is_invalid_for_the_schema_too(path, kind):
    lines = header(path)
    assert any(line.startswith("# expect: ") for line in lines), "every case names its errors"
    marks = [line for line in lines if line.startswith("# schema: ")]
    assert len(marks) == 1, "every case says `# schema: agrees` or `# schema: blind (why)`"
    if marks[0].startswith("# schema: blind"):
        assert schema_accepts(path, kind), "marked blind, but the schema rejects it: mark it `agrees`"
        return
    assert marks[0] == "# schema: agrees"
    assert not schema_accepts(path, kind), "the validator rejects this file but the JSON Schema accepts it"
