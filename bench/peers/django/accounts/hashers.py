"""Argon2id at gatehouse's default cost (m = 19456 KiB, t = 2, p = 1), so a
login costs the two servers the same password work.  Django's own
Argon2PasswordHasher (m = 100 MiB, p = 8) would be slower for its own reasons."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class GatehouseArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456
    parallelism = 1
