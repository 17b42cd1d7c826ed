"""Several workers sharing one deployment through Redis: `cluster` coordinates them,
`adapters` implements the core ports on Redis."""
