"""The shipped rule sets (TOML). This folder is installed as the data package ``musicgen.rulefiles``."""
