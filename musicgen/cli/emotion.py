"""musicgen emotion commands (registered on musicgen.cli.app.app)."""
