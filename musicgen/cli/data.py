"""musicgen data commands (registered on musicgen.cli.app.app)."""
