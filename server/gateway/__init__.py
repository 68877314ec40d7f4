"""The HTTP and websocket edge: Starlette routes, auth, and the mapping of errors."""
