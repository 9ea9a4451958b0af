"""musicgen rules commands (registered on musicgen.cli.app.app)."""
