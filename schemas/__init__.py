"""Reference data and pandera schemas: indicator catalogue, unit registry, models."""
