"""Current state (customers, orders, shipments, components) built from canonical events."""
