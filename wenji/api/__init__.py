"""The API's common parts, used by every app's API views: token authentication with roles,
the one error shape, the safe JSON parser, rate limits, pagination, permission classes and
the schema pieces (path parameters, documented error answers)."""
