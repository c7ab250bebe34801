"""Human review: reviewer accounts and sessions, cases (review / audit / appeal) with claims,
decisions that take effect after an undo window, revocation, statistics and export."""
