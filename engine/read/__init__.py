"""Read models for the API and console: filtered, paginated lists."""
