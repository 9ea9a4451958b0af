"""musicgen generate commands (registered on musicgen.cli.app.app)."""
