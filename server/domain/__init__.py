"""Pure rules of the product: no I/O, plain values in and out."""
