"""The staff console's pages: its own Jinja2 environment (autoescaped HTML, never the message sandbox),
the layout every page extends, the navigation, and the vendored assets. Routes live in `engine.api.console`."""
