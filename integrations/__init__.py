"""Adapters: inbound feeds and outbound channels, reached by the engine through registries."""
