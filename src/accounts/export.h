/*
 * export — `gatehouse export`: every user (with its password hash, flags
 * and dates), social identity and API token (its key's SHA-256 only) as
 * JSON lines, for a backup or a move elsewhere.  Schema (README.md
 * "Moving from Django"): every line is an object with a "type":
 *   {"type":"export","format":1,"created":ISO}                      first line
 *   {"type":"user","id","email","password","first_name","last_name",
 *    "is_active","is_staff","is_superuser","email_verified","mfa_enabled",
 *    "date_joined":ISO,"last_login":ISO|null,"django_model":text|null,"django_pk":text|null}
 *   {"type":"identity","id","user_id","provider","uid","created":ISO}
 *   {"type":"token","id","user_id","name","key_sha256","created":ISO,
 *    "expires":ISO|null,"last_used":ISO|null}
 * Never writes a token key (gatehouse has none), a second factor's secret,
 * a session or the auth hash; the password hashes are secrets of their own:
 * the caller writes a file 0600.
 */
#ifndef GATEHOUSE_EXPORT_H
#define GATEHOUSE_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "store/store.h"

struct export_counts {
	size_t users, identities, tokens;
};

/* Write the export to f.  0 with *c, or -1 with err (a store or write error: the output is incomplete
 * and must not be used). */
int export_write(struct store *st, FILE *f, struct export_counts *c, char *err, size_t errsz);

#endif
