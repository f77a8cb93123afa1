#!/usr/bin/python3
"""
Generate tests/unit/vectors/django_hashes.h: password hashes written by
Django's own hashers, and whether Django's check_password() accepts a given
password for each one.  The C unit test (test_password.c) must agree with
Django on every row.

Run with Debian's interpreter, which has Django 3.2 and its optional hasher
libraries (apt-get install python3-django python3-argon2 python3-bcrypt):

    /usr/bin/python3 tests/unit/vectors/make_django_hashes.py > tests/unit/vectors/django_hashes.h

Salts are random, so every run gives a different (equally valid) file.

Django 3.2 has no scrypt hasher (it arrived in Django 4.0).  The
ScryptPasswordHasher below re-states Django 4.x's encode/decode/verify
exactly (format "scrypt$<n>$<salt>$<r>$<p>$<b64 hash>", hashlib.scrypt with
salt=salt.encode(), maxmem=0, dklen=64, padded standard base64), with
parallelism 1 (Django 4.0) and 5 (Django 4.1+ default) both exercised.
"""
import base64
import hashlib
import sys

import django
from django.conf import settings
from django.utils.crypto import constant_time_compare

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
        "__main__.ScryptPasswordHasher",
    ],
)
django.setup()

import argon2  # noqa: E402
from django.contrib.auth import hashers as H  # noqa: E402


class ScryptPasswordHasher(H.BasePasswordHasher):
    """Django 4.x django.contrib.auth.hashers.ScryptPasswordHasher, restated."""

    algorithm = "scrypt"
    block_size = 8
    maxmem = 0
    parallelism = 1
    work_factor = 2 ** 14

    def encode(self, password, salt, n=None, r=None, p=None):
        assert password is not None
        assert salt and "$" not in salt
        n = n or self.work_factor
        r = r or self.block_size
        p = p or self.parallelism
        hash_ = hashlib.scrypt(
            password.encode(),
            salt=salt.encode(),
            n=n,
            r=r,
            p=p,
            maxmem=self.maxmem,
            dklen=64,
        )
        hash_ = base64.b64encode(hash_).decode("ascii").strip()
        return "%s$%d$%s$%d$%d$%s" % (self.algorithm, n, salt, r, p, hash_)

    def decode(self, encoded):
        algorithm, work_factor, salt, block_size, parallelism, hash_ = encoded.split(
            "$", 6
        )
        assert algorithm == self.algorithm
        return {
            "algorithm": algorithm,
            "work_factor": int(work_factor),
            "salt": salt,
            "block_size": int(block_size),
            "parallelism": int(parallelism),
            "hash": hash_,
        }

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        encoded_2 = self.encode(
            password,
            decoded["salt"],
            decoded["work_factor"],
            decoded["block_size"],
            decoded["parallelism"],
        )
        return constant_time_compare(encoded, encoded_2)

    def safe_summary(self, encoded):
        return {}

    def harden_runtime(self, password, encoded):
        pass


class Scrypt41(ScryptPasswordHasher):
    parallelism = 5  # Django 4.1 raised the default from 1 to 5


class ScryptCheap(ScryptPasswordHasher):
    work_factor = 2 ** 4    # cheap, for the C test's mutation loops


class PBKDF2Small(H.PBKDF2PasswordHasher):
    iterations = 1000


class PBKDF2SHA1Small(H.PBKDF2SHA1PasswordHasher):
    iterations = 1000


class Argon2P1(H.Argon2PasswordHasher):
    # A Django site tuned to gatehouse's default cost (OWASP minimum).
    time_cost = 2
    memory_cost = 19456
    parallelism = 1


class Argon2iOld(H.Argon2PasswordHasher):
    # What Django 1.10 to 3.1 wrote: argon2i, t=2, m=512, p=2.
    time_cost = 2
    memory_cost = 512
    parallelism = 2

    def params(self):
        p = super().params()
        p.type = argon2.low_level.Type.I
        return p


class Argon2iP1(Argon2iOld):
    # argon2i with p=1, v=19: the shape gatehouse checks through libsodium
    time_cost = 1
    memory_cost = 64
    parallelism = 1


class BCryptSHA256Fast(H.BCryptSHA256PasswordHasher):
    rounds = 4


class BCryptFast(H.BCryptPasswordHasher):
    rounds = 4


def argon2_no_version(password, salt, type_, prefix):
    """Hash as Argon2 v1.0 (0x10) and drop "v=16$", the format that
    argon2-cffi < 16 (hence Django 1.10) wrote; argon2 reads a missing
    version as v=16."""
    raw = argon2.low_level.hash_secret(
        password.encode(), salt.encode(), time_cost=1, memory_cost=8,
        parallelism=1, hash_len=32, type=type_, version=0x10,
    ).decode("ascii")
    assert "$v=16$" in raw
    return prefix + raw.replace("$v=16$", "$", 1)


def argon2_v16(password, salt):
    raw = argon2.low_level.hash_secret(
        password.encode(), salt.encode(), time_cost=1, memory_cost=64,
        parallelism=1, hash_len=16, type=argon2.low_level.Type.ID, version=0x10,
    ).decode("ascii")
    return "argon2" + raw


P_ASCII = "correct horse battery staple"
P_UNI = "p\u00e4ssw\u00f6rd \u00fcn\u00efc\u00f8d\u00e9 \u5bc6\u7801 \U0001f511"
P_EMPTY = ""
P_LONG = "L" * 71 + "\u00e9" + "tail-beyond-72-bytes" * 5   # > 72 UTF-8 bytes
P_SYM = "$$$ '\"\\ %s %n \t!"


def wrongs(pw):
    out = [pw + "x", pw.upper() if pw.upper() != pw else pw.lower() + "a",
           " " + pw, ""]
    if pw:
        out.append(pw[:-1])
    return [w for w in dict.fromkeys(out) if w != pw]


def main():
    rows = []   # (comment, encoded, password)

    def add(label, hasher, passwords, all_wrongs=True):
        # all_wrongs=False (costly hashers): one other password, first only
        for i, pw in enumerate(passwords):
            enc = H.make_password(pw, hasher=hasher)
            rows.append((label, enc, pw))
            if all_wrongs:
                ws = wrongs(pw)
            else:
                ws = wrongs(pw)[:1] if i == 0 else []
            for w in ws:
                rows.append((label + " (other password)", enc, w))

    add("pbkdf2_sha256, Django 3.2 default 260000", "pbkdf2_sha256",
        [P_ASCII, P_UNI], all_wrongs=False)
    add("pbkdf2_sha256, 1000 iterations", PBKDF2Small(),
        [P_ASCII, P_UNI, P_EMPTY, P_LONG, P_SYM])
    add("pbkdf2_sha1, Django 3.2 default 260000", "pbkdf2_sha1", [P_ASCII],
        all_wrongs=False)
    add("pbkdf2_sha1, 1000 iterations", PBKDF2SHA1Small(),
        [P_ASCII, P_UNI, P_EMPTY])
    add("argon2id, Django 3.2 default m=102400,t=2,p=8", "argon2",
        [P_ASCII, P_UNI], all_wrongs=False)
    add("argon2id m=19456,t=2,p=1", Argon2P1(), [P_ASCII, P_UNI],
        all_wrongs=False)
    add("argon2i, Django 1.10-3.1 default m=512,t=2,p=2", Argon2iOld(),
        [P_ASCII, P_UNI, P_EMPTY, P_SYM])
    add("argon2i m=64,t=1,p=1", Argon2iP1(), [P_ASCII, P_UNI])
    for pw in (P_ASCII, P_UNI):
        enc = argon2_no_version(pw, "somesaltsomesalt", argon2.low_level.Type.I,
                                "argon2")
        rows.append(("argon2i without v= (argon2-cffi < 16)", enc, pw))
        rows.append(("argon2i without v= (other password)", enc, wrongs(pw)[0]))
        enc = argon2_v16(pw, "anothersaltvalue")
        rows.append(("argon2id v=16", enc, pw))
        rows.append(("argon2id v=16 (other password)", enc, wrongs(pw)[0]))
    add("bcrypt_sha256, Django default 12 rounds", "bcrypt_sha256", [P_UNI],
        all_wrongs=False)
    add("bcrypt_sha256, 4 rounds", BCryptSHA256Fast(),
        [P_ASCII, P_UNI, P_EMPTY, P_LONG])
    add("bcrypt, Django default 12 rounds", "bcrypt", [P_ASCII],
        all_wrongs=False)
    add("bcrypt, 4 rounds", BCryptFast(), [P_ASCII, P_UNI, P_EMPTY, P_LONG])
    # bcrypt only reads the first 72 bytes: Django accepts any password
    # that shares them.
    long72 = "T" * 72
    enc = H.make_password(long72 + "tail", hasher=BCryptFast())
    trunc = long72
    rows.append(("bcrypt, 72-byte truncation", enc, trunc))
    rows.append(("bcrypt, 72-byte truncation", enc, trunc + "different tail"))
    rows.append(("bcrypt, 72-byte truncation (other password)", enc, trunc[:-1]))
    add("scrypt, Django 4.0 n=16384,r=8,p=1", ScryptPasswordHasher(),
        [P_ASCII, P_UNI, P_EMPTY], all_wrongs=False)
    add("scrypt, Django 4.1+ n=16384,r=8,p=5", Scrypt41(), [P_UNI],
        all_wrongs=False)
    add("scrypt n=16,r=8,p=1", ScryptCheap(), [P_ASCII, P_EMPTY])

    out = sys.stdout
    out.write("/*\n * GENERATED by tests/unit/vectors/make_django_hashes.py "
              "(Django %s, argon2-cffi %s):\n * do not edit. Each row is a hash "
              "written by Django's hasher, a password, and\n * what Django's "
              "check_password() answered for that pair.\n */\n"
              % (django.get_version(), argon2.__version__))
    out.write("#ifndef GATEHOUSE_DJANGO_HASHES_H\n#define GATEHOUSE_DJANGO_HASHES_H\n\n")
    out.write("struct django_hash {\n\tconst char *encoded;\n\tconst char *password;"
              "\t/* UTF-8 */\n\tint expect_match;\n};\n\n")
    out.write("static const struct django_hash django_hashes[] = {\n")
    n_true = 0
    for label, enc, pw in rows:
        ok = H.check_password(pw, enc)
        n_true += ok
        out.write("\t/* %s */\n\t{ %s,\n\t  %s, %d },\n"
                  % (label, c_string(enc.encode()), c_string(pw.encode()), int(ok)))
    out.write("};\n\n#endif\n")
    sys.stderr.write("%d rows, %d match\n" % (len(rows), n_true))


def c_string(b):
    s = []
    for byte in b:
        c = chr(byte)
        if c in '"\\':
            s.append("\\" + c)
        elif 0x20 <= byte < 0x7f and c != "?":   # no trigraphs
            s.append(c)
        else:
            s.append("\\%03o" % byte)
    return '"' + "".join(s) + '"'


if __name__ == "__main__":
    main()
