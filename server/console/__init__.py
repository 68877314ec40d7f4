"""The ops console: the back office the ops team runs a campaign from, in Chinese, served by
the gateway at /console. Server-rendered (Jinja2, htmx where a page updates in place), signed
in by cookie, and every action through the same code the API uses (server/ops/)."""
