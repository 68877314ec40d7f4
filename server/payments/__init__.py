"""The payment provider's side: signed webhook notices, and a sandbox provider."""
