"""pyproject.toml and environment.yml name the same packages with the same lower bounds."""

import re
import tomllib

import yaml

from tests.conftest import ROOT

# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"docker-py": "docker"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req.strip())
    assert m, req
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = dict(_split(r) for r in py["dependencies"] + py["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            if name in ("python", "pip"):
                continue
            conda[CONDA_TO_PYPI.get(name, name)] = spec
        elif isinstance(dep, dict):  # the pip: section, for wheels not on conda-forge
            for req in dep.get("pip", []):
                if not req.startswith("-"):  # skip "-e ." and other pip options
                    name, spec = _split(req)
                    conda[name] = spec
    assert conda == pypi, (
        f"only in pyproject: {sorted(set(pypi) - set(conda))}, "
        f"only in environment.yml: {sorted(set(conda) - set(pypi))}, "
        f"different bounds: {sorted(k for k in pypi if k in conda and pypi[k] != conda[k])}"
    )


def test_python_floor_agrees():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert f"python{py}" in env
