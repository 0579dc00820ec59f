"""Building images: builder choice, the exact command lines, and running them."""
