"""The text model, area resolution and tag decision of tandai (no web or database I/O)."""
