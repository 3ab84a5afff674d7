"""The harness around the implementations: database providers, CLI (and, later, the engine)."""
