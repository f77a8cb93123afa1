/*
 * import — `gatehouse import-django`: the rows django.c read, written into
 * the store inside the caller's ONE transaction (the caller commits, or
 * rolls back on a failure — nothing imported — or for a dry run, which so
 * reports exactly what a real run would do), idempotently: a
 * user is found again by its Django pk (table django_users), a token by its
 * key's hash, a social identity by (provider, uid), so a second run of the
 * same dump changes nothing.  Never stores a token key (only
 * its SHA-256, as gatehouse's own tokens), never prints a password hash or
 * a key, never merges a Django user into a gatehouse account that was not
 * imported from it.
 *
 * A user already imported whose Django row is unchanged since (row hash) is
 * left alone, so a password upgraded at login here is not put back; when the
 * row changed: flags, names and a later last_login follow Django, the password too
 * when Django's changed (a new auth hash: their sessions end), and a user
 * Django deactivated loses its sessions and tokens (accounts_deactivate).
 * A row whose address is no longer the account's (changed on either side,
 * or the same pk of another project with the same user model) is skipped
 * and reported: never written over an account it may not be.
 */
#ifndef GATEHOUSE_IMPORT_H
#define GATEHOUSE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "accounts/django.h"
#include "store/store.h"

struct import_counts {
	size_t users_created, users_updated, users_unchanged, users_skipped;
	size_t user_skips[DJ_SKIP_COUNT]; /* users skipped, by reason */
	size_t tokens_created, tokens_unchanged, tokens_skipped;
	size_t socials_created, socials_unchanged, socials_skipped;
	size_t
	    unusable_passwords; /* imported users without a usable password (Django's "!" or unverifiable) */
	size_t unverifiable;    /* ... of which Django's hash is a format gatehouse cannot verify */
};

/* Called once per row that is skipped or needs the operator's eye: model, its pk (NULL for a token,
 * whose pk is its key and is never shown: what names its user) and what happened.  pk and what may
 * hold any text of the dump but control characters: sanitise before printing. */
typedef void (*import_report_fn)(void *ctx, const char *model, const char *pk, const char *what);

/* Import d into st inside the caller's transaction.  0 with *c filled (commit, or roll back for a dry
 * run); -1 on a store error, err says where (roll back: nothing is imported).  d's users get their
 * user_id. */
int import_django(struct store *st, struct django_dump *d, struct import_counts *c, import_report_fn report,
    void *ctx, char *err, size_t errsz);

/* Print the summary of c (the same for a dry run and a real one) on f. */
void import_print_summary(FILE *f, const struct django_dump *d, const struct import_counts *c, bool dry_run);

#endif
