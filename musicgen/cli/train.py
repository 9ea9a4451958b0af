"""musicgen train commands (registered on musicgen.cli.app.app)."""
