"""Maps the top-level rules/ folder into the package as ``musicgen.rulefiles`` (see pyproject.toml)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["musicgen", "musicgen.*"]) + ["musicgen.rulefiles"],
    package_dir={"musicgen.rulefiles": "rules"},
    package_data={"musicgen.rulefiles": ["*.toml"], "musicgen.weights": ["*.pt", "*.json"]},
)
