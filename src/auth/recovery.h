/*
 * recovery — single-use recovery codes for a second factor: making one
 * (10 random characters of an alphabet without look-alikes, shown as
 * xxxxx-xxxxx, about 49.5 bits) and the keyed hash under which it is stored
 * and looked up.  What a person types is normalised (case, spaces, dashes)
 * before hashing, so any way of copying the code finds the same row.
 *
 * Must never log a code, or store or return one other than at its making
 * (the caller shows it once and keeps only recovery_code_hash of it).
 */
#ifndef GATEHOUSE_RECOVERY_H
#define GATEHOUSE_RECOVERY_H

#define RECOVERY_CODE_COUNT 10
#define RECOVERY_CODE_TEXT  12 /* "xxxxx-xxxxx" + NUL */
#define RECOVERY_HASH_LEN   64 /* hex */
#define RECOVERY_TYPED_MAX  64 /* longest text recovery_code_hash reads before refusing it */
#define RECOVERY_ALPHABET   "23456789abcdefghjkmnpqrstuvwxyz"

/* a fresh code: 10 characters from RECOVERY_ALPHABET (no 0/o, 1/i/l look-alikes, lower case), shown as
 * xxxxx-xxxxx; log2(31^10) ~ 49.5 bits */
void recovery_code_new(char out[RECOVERY_CODE_TEXT]);
/* What a person typed (any case, spaces and dashes anywhere, surrounding blanks) normalised and
 * hashed: hex HMAC-SHA256 keyed by a key derived from server_secret (libsodium crypto_auth_hmacsha256),
 * out RECOVERY_HASH_LEN+1 bytes.  0, or -1 when the text cannot be a code (wrong length after
 * normalising, a character outside the alphabet, RECOVERY_TYPED_MAX bytes or more, NULL); out is
 * then "". */
int recovery_code_hash(const char *server_secret, const char *typed, char out[RECOVERY_HASH_LEN + 1]);

#endif
