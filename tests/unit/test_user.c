/* Unit tests for src/accounts/user.c: the email normal form (look-alikes, IDNA,
 * Django's local-part rules), name validation and the profile JSON. */
#include "test.h"
#include "../../src/accounts/user.c"

static const char *
norm(const char *in)
{
	static char out[STORE_EMAIL_MAX + 1];

	return user_normalize_email(in, out, sizeof(out)) == 0 ? out : NULL;
}

/* addresses that must be refused outright */
static const char *const refused[] = {
	"a@b", /* Django: no dotless domains */
	"a@b..c",
	"a@.b.c",
	"a@b.c.",
	"@b.c",
	"a@",
	"a@@b.c",
	"a b@c.d",
	"a@c.d, e@f.g",
	"<a@c.d>",
	"",
	"   ",
	"\xff@c.d",
	"a@c.d\xff",
	"caf\xc3\xa9@example.com", /* local parts are ASCII (Django's user_regex) */
	".alice@example.com",
	"alice.@example.com",
	"al..ice@example.com",
	"al(ice@example.com",
	"al\\ice@example.com",
	"al\"ice@example.com",
	"\"\"@example.com",
	"\"al\"ice\"@example.com",
	"\"a\x01"
	"\"@example.com",
	/* the reproduction: fullwidth letters in the local part */
	"\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85@example.com",
	"\xef\xbc\xa1lice@example.com", /* fullwidth capital A */
	"\xd0\xb0lice@example.com",     /* Cyrillic a */
	"alice\xef\xbc\xa0"
	"example.com", /* fullwidth @ */
	/* invisible characters, in either part */
	"alice@example.com\xe2\x80\x8b", /* U+200B zero-width space */
	"\xe2\x80\x8b"
	"alice@example.com",
	"ali\xe2\x80\x8b"
	"ce@example.com",
	"alice@exa\xe2\x80\x8bmple.com",
	"alice@exa\xe2\x80\x8cmple.com", /* ZWNJ */
	"alice@exa\xe2\x80\x8dmple.com", /* ZWJ */
	"alice@example.com\xe2\x80\x8e", /* LRM */
	"alice@example.com\xe2\x80\x8f", /* RLM */
	"alice@\xe2\x80\xae"
	"example.com", /* RLO */
	"alice@\xe2\x80\xaa"
	"example.com", /* LRE */
	"alice@\xe2\x81\xa6"
	"example.com", /* LRI */
	"alice@\xe2\x81\xa9"
	"example.com",                   /* PDI */
	"alice@exam\xc2\xadple.com",     /* soft hyphen (IDNA would drop it silently) */
	"alice@example.com\xe2\x81\xa0", /* word joiner */
	"alice@example.com\xef\xbb\xbf", /* BOM / ZWNBSP */
	"\xef\xbb\xbf"
	"alice@example.com",
	"alice@exampl\xcd\x8f"
	"e.com",                             /* combining grapheme joiner */
	"alice@example.co\xef\xb8\x8fm",     /* variation selector 16 */
	"alice@example.com\xf3\xa0\x80\x81", /* tag character */
	"alice@example.com\xe3\x85\xa4",     /* Hangul filler */
	"alice\xc2\xa0@example.com",         /* no-break space */
	"alice@example.com\xe3\x80\x80",     /* ideographic space */
	"alice@example.com\xe2\x80\xa8",     /* line separator */
	"alice@example.com\xd8\x9c",         /* Arabic letter mark */
	/* controls, C0 and C1 */
	"alice@example.com\n",
	"alice\r@example.com",
	"alice@exa\tmple.com",
	"alice@example.com\x7f",
	"alice@example.com\xc2\x85",
	"alice@example.com\xc2\x9b",
	/* domains IDNA or the LDH rules refuse */
	"alice@-example.com",
	"alice@example-.com",
	"alice@exa_mple.com",
	"alice@exa/mple.com",
	"alice@exa\xef\xbc\xbfmple.com",
	/* fullwidth low line: maps to '_', refused, not dropped */ "alice@example.c",
	"alice@xn--zz.com", /* not a valid A-label */
	"alice@xn--example-.com",
	"alice@[1.2.3]",
	"alice@[300.1.1.1]",
	"alice@[IPv6:zz::1]",
};

int
main(void)
{
	struct store_user u = { .id = 7, .date_joined = 0, .is_staff = true };
	char big[400], out[STORE_EMAIL_MAX + 1];
	json_t *j;

	CHECK_STR(norm("  Alice@Example.COM "), "alice@example.com");
	CHECK_STR(norm("a.b+tag@sub.example.org"), "a.b+tag@sub.example.org");
	CHECK_STR(norm("root@localhost"), "root@localhost");
	CHECK_STR(norm("o'brien!#$%&*/=?^_`{|}~-@example.com"), "o'brien!#$%&*/=?^_`{|}~-@example.com");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *got = norm(refused[i]);
		if (got != NULL)
			fprintf(stderr, "refused[%zu] %s normalised to \"%s\"\n", i, refused[i], got);
		CHECK(got == NULL);
	}

	/* fullwidth or upper-case domain letters map to the one ASCII domain */
	CHECK_STR(norm("alice@"
	               "\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90\xef\xbd\x8c\xef\xbd\x85."
	               "com"),
	    "alice@example.com");
	CHECK_STR(norm("alice@\xef\xbc\xa5XAMPLE\xef\xbc\x8e\xef\xbd\x83om"),
	    "alice@example.com"); /* fullwidth E and . */
	CHECK_STR(norm("alice@example\xe3\x80\x82"
	               "com"),
	    "alice@example.com"); /* ideographic full stop */
	/* IDN domains are stored in their ASCII (punycode) form; U- and A-label agree */
	CHECK_STR(norm("alice@b\xc3\xbc"
	               "cher.example"),
	    "alice@xn--bcher-kva.example");
	CHECK_STR(norm("alice@B\xc3\x9c"
	               "CHER.example"),
	    "alice@xn--bcher-kva.example");
	CHECK_STR(norm("alice@bu\xcc\x88"
	               "cher.example"),
	    "alice@xn--bcher-kva.example"); /* NFD u + diaeresis */
	CHECK_STR(norm("alice@XN--BCHER-KVA.example"), "alice@xn--bcher-kva.example");
	/* non-transitional: sharp s stays (not "ss") */
	CHECK_STR(norm("alice@fa\xc3\x9f.de"), "alice@xn--fa-hia.de");
	/* quoted local parts: unquoted when no quotes are needed, kept otherwise */
	CHECK_STR(norm("\"Alice\"@example.com"), "alice@example.com");
	CHECK_STR(norm("\"al\\ice\"@example.com"), "alice@example.com");
	CHECK_STR(norm("\"john doe\"@example.com"), "\"john doe\"@example.com");
	CHECK_STR(norm("\"a@b\"@example.com"), "\"a@b\"@example.com");
	CHECK_STR(norm("\"a\\\"b\"@example.com"), "\"a\\\"b\"@example.com");
	/* IP literals, as Django allows */
	CHECK_STR(norm("a@[192.0.2.1]"), "a@[192.0.2.1]");
	CHECK_STR(norm("a@[IPv6:2001:DB8::1]"), "a@[ipv6:2001:db8::1]");
	/* lengths: 64-byte local part, 254-byte whole */
	memset(big, 'a', 65);
	memcpy(big + 65, "@example.com", 13);
	CHECK(norm(big) == NULL);
	CHECK(norm(big + 1) != NULL);
	memset(big, 'a', sizeof(big));
	big[0] = 'x';
	big[1] = '@';
	for (size_t i = 2 + 63; i < 250; i += 64)
		big[i] = '.';
	big[250] = '.';
	memcpy(big + 251, "com", 4); /* 254 bytes in all */
	CHECK(user_normalize_email(big, out, sizeof(out)) == 0 && strlen(out) == 254);
	memmove(big + 1, big, 255); /* 255 bytes */
	CHECK(norm(big) == NULL);
	CHECK(user_normalize_email("a@example.com", out, 5) == -1);

	/* names */
	CHECK(user_name_valid("Zo\xc3\xab", 4));
	CHECK(user_name_valid("", 0));
	CHECK(user_name_valid("\xd9\x85\xd8\xad\xe2\x80\x8c\xd9\x85\xd8\xaf",
	    11)); /* ZWNJ is part of Persian names */
	CHECK(!user_name_valid("\xff", 1));
	CHECK(!user_name_valid("a\xc3", 2));
	CHECK(!user_name_valid("a\nb", 3));
	CHECK(!user_name_valid("a\x1b[31m", 6));
	CHECK(!user_name_valid("a\xc2\x85", 3));
	CHECK(!user_name_valid("\xe2\x80\xae"
	                       "evil",
	    7));
	memset(big, 'n', 151);
	CHECK(!user_name_valid(big, 151));
	CHECK(user_name_valid(big, 150));

	strlcpy_ok(u.email, "a@b.c", sizeof(u.email));
	j = user_profile_json(&u);
	CHECK(json_is_null(json_object_get(j, "last_login")));
	CHECK_STR(json_string_value(json_object_get(j, "date_joined")), "1970-01-01T00:00:00Z");
	CHECK(json_is_true(json_object_get(j, "is_staff")));
	CHECK(json_object_get(j, "password") == NULL && json_object_get(j, "auth_hash") == NULL);
	json_decref(j);
	/* a bad stored name still gives a profile */
	strlcpy_ok(u.first_name,
	    "A\xff"
	    "b\xc3",
	    sizeof(u.first_name));
	j = user_profile_json(&u);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "first_name")),
	    "A\xef\xbf\xbd"
	    "b\xef\xbf\xbd");
	json_decref(j);
	return test_summary("test_user");
}
