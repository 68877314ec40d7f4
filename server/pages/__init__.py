"""Pages people use, rendered on the server (Jinja2) from the same domain code as the API:
the live room and the distributor center for viewers, the ops console."""
