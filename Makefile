# gatehouse — build, run, test, bench, fuzz.  Plain make + pkg-config.
#
#   make            build build/gatehouse
#   make run        install what is missing, build server + SPA, serve on 127.0.0.1:8000
#   make test       install what is missing, lint, unit + API tests (plain, SANITIZE=1, valgrind, PostgreSQL), browser tests
#   make api-pg     the API tests against gatehouse on a throw-away PostgreSQL cluster (plus its own tests)
#   make client     the JS client's tests (clients/js: node --test, against build/gatehouse)
#   make lint       format (clang-format, Prettier), banned functions, layer rule: scripts/lint
#   make format     rewrite the C and JS files as make lint wants them
#   make bench      load benchmarks against the peers (bench/RESULTS.md)
#   make fuzz       build and briefly run the libFuzzer drivers
#   make mutants    the mutation check: each tests/mutants/*.mutant must be caught by its tests
#   SANITIZE=1      build with ASan + UBSan into build-asan/

PKGS     := libmicrohttpd jansson sqlite3 libpq libsodium libcrypto libcrypt inih libargon2 libcurl cjose libidn2 liboath libfido2 libcbor
CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
ifeq ($(FUZZ),1)
CC       := clang
BUILD    := build-fuzz
OPT      := -O1 -g -fno-omit-frame-pointer -DFUZZING
SAN      := -fsanitize=fuzzer-no-link,address,undefined
else ifeq ($(SANITIZE),1)
BUILD    := build-asan
OPT      := -O1 -g -fno-omit-frame-pointer
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD    := build
SAN      :=
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += $(CSTD) $(WARN) $(OPT) $(SAN) -Isrc $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(SAN)
LDLIBS   += $(PKG_LIBS) -lpthread -lm

SRC      := $(shell find src -name "*.c" | LC_ALL=C sort)
LIBSRC   := $(filter-out src/main.c,$(SRC))
GENOBJ   := $(BUILD)/gen/common_passwords.o $(BUILD)/gen/sqlite_migrations.o $(BUILD)/gen/postgres_migrations.o \
            $(BUILD)/gen/openapi.o
OBJ      := $(SRC:%.c=$(BUILD)/%.o) $(GENOBJ)
LIBOBJ   := $(LIBSRC:%.c=$(BUILD)/%.o) $(GENOBJ)
UNITSRC  := $(wildcard tests/unit/test_*.c)
UNITBIN  := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZERS  := cookie body config tokens password oidc request edge router static webauthn webhooks django
FUZZ_SECONDS ?= 30

.PHONY: all run test lint format unit client api api-parallel api-asan-parallel api-timing api-pg api-pg-parallel api-pg-timing api-pg-only e2e deps web bench fuzz fuzz-build valgrind mutants clean

all: $(BUILD)/gatehouse

$(BUILD)/gatehouse: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libgatehouse.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# the common-password list (data/README.md) compiled in, sorted for bsearch
$(BUILD)/gen/common_passwords.c: data/common-passwords.txt
	@mkdir -p $(dir $@)
	LC_ALL=C sort -u $< | awk 'BEGIN { print "/* generated from data/common-passwords.txt by the Makefile */"; \
	    print "#include <stddef.h>"; print "extern const char *const common_passwords[];"; \
	    print "extern const size_t common_passwords_count;"; print "const char *const common_passwords[] = {" } \
	    length($$0) > 0 { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\?/, "\\?"); printf "\t\"%s\",\n", $$0; n++ } \
	    END { print "};"; printf "const size_t common_passwords_count = %d;\n", n }' > $@

# the schema migrations of each dialect (src/store/migrations/DIALECT/NNNN_name.sql, numbered from 0001
# without a gap, the same numbers and names in every dialect) compiled in, in file order, as
# DIALECT_migrations[]; whole-line "--" comments and blank lines are left out, every other line keeps
# its newline.
SQLITE_MIGRATIONS   := $(sort $(wildcard src/store/migrations/sqlite/*.sql))
POSTGRES_MIGRATIONS := $(sort $(wildcard src/store/migrations/postgres/*.sql))
$(BUILD)/gen/sqlite_migrations.c: $(SQLITE_MIGRATIONS) src/store/migrations/sqlite Makefile
$(BUILD)/gen/postgres_migrations.c: $(POSTGRES_MIGRATIONS) src/store/migrations/postgres Makefile
$(BUILD)/gen/%_migrations.c:
	@mkdir -p $(dir $@)
	awk -v d=$* 'BEGIN { printf "/* generated from src/store/migrations/%s/ by the Makefile */\n", d; \
	    print "#include <stddef.h>"; printf "extern const char *const %s_migrations[];\n", d; \
	    printf "extern const size_t %s_migrations_count;\n", d; printf "const char *const %s_migrations[] = {\n", d } \
	    FNR == 1 { f = FILENAME; sub(/.*\//, "", f); n++; \
	        if (f !~ /^[0-9][0-9][0-9][0-9]_[a-z0-9_]+\.sql$$/ || f + 0 != n) { \
	            printf "%s: expected migration number %04d, named NNNN_name.sql\n", FILENAME, n > "/dev/stderr"; \
	            bad = 1; exit 1 } \
	        if (n > 1) print "\t,"; printf "\t/* %s */ \"\"\n", f } \
	    /^[ \t]*(--.*)?$$/ { next } \
	    { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\?/, "\\?"); printf "\t\"%s\\n\"\n", $$0 } \
	    END { if (bad) exit 1; if (n) print "\t,"; else print "\t\"\""; print "};"; \
	        printf "const size_t %s_migrations_count = %d;\n", d, n }' \
	    $(sort $(wildcard src/store/migrations/$*/*.sql)) > $@.tmp || { rm -f $@.tmp; exit 1; }; mv $@.tmp $@

# docs/openapi.yaml built in byte for byte (GET /api/schema/, src/api/schema.c): the text, its length
# and its strong ETag (the SHA-256 of the text)
$(BUILD)/gen/openapi.S: docs/openapi.yaml Makefile
	@mkdir -p $(dir $@)
	{ echo '/* generated from docs/openapi.yaml by the Makefile */'; \
	  printf '\t.section .rodata\n\t.globl openapi_yaml\n\t.globl openapi_yaml_len\n\t.globl openapi_yaml_etag\n'; \
	  printf '\t.balign 8\nopenapi_yaml_len:\n\t.quad openapi_yaml_end - openapi_yaml\n'; \
	  printf 'openapi_yaml_etag:\n\t.asciz "\\"%s\\""\n' "$$(sha256sum docs/openapi.yaml | cut -c1-64)"; \
	  printf 'openapi_yaml:\n\t.incbin "docs/openapi.yaml"\nopenapi_yaml_end:\n\t.byte 0\n'; \
	  printf '\t.section .note.GNU-stack,"",@progbits\n'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/openapi.o: $(BUILD)/gen/openapi.S docs/openapi.yaml
	$(CC) $(SAN) -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(if $(filter clang,$(CC)),-Wno-string-concatenation) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgatehouse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libgatehouse.a $(LDFLAGS) $(LDLIBS)

deps:
	@scripts/install-deps

# the mechanical habits, in seconds: the file lists and rules live in scripts/lint
lint:
	@scripts/lint

format:
	@scripts/lint --format

web: deps
	cd web && npm run build --silent

run: deps
	$(MAKE) all web
	$(BUILD)/gatehouse migrate
	$(BUILD)/gatehouse serve

# unit + API tests against one build (plain or SANITIZE=1)
unit: $(UNITBIN)
	@tests/unit/run $(UNITBIN)

# the JS client (clients/js): its logic, the npm pack, and its calls against this build's server
client: $(BUILD)/gatehouse
	cd clients/js && GATEHOUSE_BIN=$(CURDIR)/$(BUILD)/gatehouse node --test

# the timing test runs alone after the others: a neighbour's load would
# stretch the slow legacy hash it measures past the failure quantum.
# API_PG_ONLY: several instances, PostgreSQL stopped and started, migrations on a
# shared database, nginx in front of a pool, the store's second factors (the unit
# tests on a database); they run in api-pg alone (those present)
API_PG_ONLY  = $(notdir $(wildcard $(addprefix tests/api/,cluster.test.mjs faults.test.mjs migrate.test.mjs \
                   nginx-cluster.test.mjs store-mfa-pg.test.mjs store-webhook-pg.test.mjs)))
API_PARALLEL = $(filter-out login-timing.test.mjs $(API_PG_ONLY),$(notdir $(wildcard tests/api/*.test.mjs)))
API_RUN      = cd tests/api && GATEHOUSE_BIN=$(CURDIR)/$(BUILD)/gatehouse
api: $(BUILD)/gatehouse
	$(MAKE) api-parallel
	$(MAKE) api-timing
api-parallel: $(BUILD)/gatehouse
	$(API_RUN) node --test --test-concurrency=2 $(API_PARALLEL)
api-timing: $(BUILD)/gatehouse
	$(API_RUN) node --test login-timing.test.mjs

# the same suite with every server on a fresh database of a throw-away PostgreSQL
# cluster (tests/api/run-pg.mjs starts and stops it), and the PostgreSQL-only tests
api-pg: $(BUILD)/gatehouse
	$(MAKE) api-pg-parallel
	$(MAKE) api-pg-timing
api-pg-parallel: $(BUILD)/gatehouse
	$(API_RUN) node run-pg.mjs --test-concurrency=2 $(API_PARALLEL) $(API_PG_ONLY)
api-pg-timing: $(BUILD)/gatehouse
	$(API_RUN) node run-pg.mjs login-timing.test.mjs
# the PostgreSQL-only tests alone: in make test under the sanitizers (a minute),
# for the cache, its listener and the reconnects
api-pg-only: $(BUILD)/gatehouse
	$(API_RUN) node run-pg.mjs --test-concurrency=2 $(API_PG_ONLY)

e2e: $(BUILD)/gatehouse
	cd tests/e2e && GATEHOUSE_BIN=$(CURDIR)/$(BUILD)/gatehouse node --test --test-concurrency=1 *.test.mjs

test: deps
	@scripts/stage lint
	$(MAKE) lint
	@scripts/stage build
	$(MAKE) -j2 all
	$(MAKE) -j2 SANITIZE=1 all
	@scripts/stage unit
	$(MAKE) unit
	$(MAKE) SANITIZE=1 unit
	@scripts/stage client
	$(MAKE) client
	@# the API suite runs three times, never twice the same way: on SQLite under
	@# ASan + UBSan, side by side with PostgreSQL on the plain build (each leaves
	@# the two cores idle a good part of the time), then on SQLite under valgrind;
	@# each one's output in one piece
	@scripts/stage "api: SQLite (ASan+UBSan) | PostgreSQL"
	$(MAKE) -j2 --output-sync=target api-asan-parallel api-pg-parallel
	@scripts/stage "api: timing, each alone"
	$(MAKE) api-timing
	$(MAKE) api-pg-timing
	@scripts/stage "api: PostgreSQL-only (ASan+UBSan)"
	$(MAKE) SANITIZE=1 api-pg-only
	@scripts/stage "api: valgrind"
	$(MAKE) valgrind
	@scripts/stage "web + browser"
	$(MAKE) web
	$(MAKE) e2e
	@scripts/stage done

api-asan-parallel:
	$(MAKE) SANITIZE=1 api-parallel

# the API suite with the server under valgrind: any error or definite leak fails it.
# Three files at once on two cores: a wrapped server is CPU-bound, but its tests
# spend much of their time waiting (held failed logins, retries, slow providers)
valgrind: $(BUILD)/gatehouse
	cd tests/api && GATEHOUSE_BIN=$(CURDIR)/$(BUILD)/gatehouse GATEHOUSE_WRAPPER=valgrind \
	    VALGRIND_OPTS="--suppressions=$(CURDIR)/tests/valgrind.supp" \
	    node --test --test-concurrency=3 $(API_PARALLEL)

# libFuzzer drivers (clang), linked against an instrumented build-fuzz/libgatehouse.a
fuzz-build:
	$(MAKE) FUZZ=1 build-fuzz/libgatehouse.a
	@mkdir -p build-fuzz/fuzz
	for f in $(FUZZERS); do \
		clang -g -O1 -DFUZZING -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
		    -o build-fuzz/fuzz/fuzz_$$f fuzz/fuzz_$$f.c build-fuzz/libgatehouse.a $(PKG_LIBS) -lpthread -lm || exit 1; \
	done

fuzz: fuzz-build
	for f in $(FUZZERS); do \
		mkdir -p fuzz/corpus-run/$$f; \
		build-fuzz/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		    fuzz/corpus-run/$$f fuzz/corpus/$$f > build-fuzz/fuzz/$$f.log 2>&1 \
		    || { tail -n 60 build-fuzz/fuzz/$$f.log; echo "fuzz_$$f: FAILED"; exit 1; }; \
		echo "fuzz_$$f: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build-fuzz/fuzz/$$f.log)"; \
	done

bench: deps
	$(MAKE) all
	bench/run

# small deliberate bugs in the security code, one at a time, in a scratch copy
# of the tree: fails when the tests let one through (tests/mutants/README.md)
mutants: all
	scripts/mutants

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJ:.o=.d) $(UNITBIN:=.d)
