/*
 * mailer — see mailer.h.  The only module that talks SMTP.
 */
#include "mail/mailer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "store/store.h"

#define BATCH         16
#define GIVE_UP_AFTER 72 /* attempts; about three days at the backoff cap */
#define BACKOFF_CAP   3600

struct mailer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, woken;
};

/* The address inside "Name <addr>" (or the whole string). */
static void
bare_address(const char *from, char *out, size_t outsz)
{
	const char *lt = strrchr(from, '<'), *gt;

	if (lt && (gt = strchr(lt, '>')) != NULL)
		snprintf(out, outsz, "<%.*s>", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, outsz, "<%s>", from);
}

static int
send_console(const struct store_mail *m)
{
	flockfile(stdout);
	printf("----- mail to %s -----\n", m->recipient);
	for (const char *p = m->message; *p; p++)
		if (*p != '\r')
			putchar(*p);
	printf("----- end of mail -----\n");
	fflush(stdout);
	funlockfile(stdout);
	return 0;
}

static int
send_file(const char *dir, const struct store_mail *m, char *err, size_t errsz)
{
	char tmp[4096], path[4096];
	size_t len = strlen(m->message);
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create %.200s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%lld-%lld.eml", dir, (long long)now_unix(), (long long)m->id);
	snprintf(tmp, sizeof(tmp), "%s/.%lld.tmp", dir, (long long)m->id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, m->message, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errsz, "cannot write %.200s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errsz, "cannot rename to %.200s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t
read_body(char *buf, size_t size, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t want = size * n;

	if (want > r->left)
		want = r->left;
	memcpy(buf, r->p, want);
	r->p += want;
	r->left -= want;
	return want;
}

static int
send_smtp(const struct config *cfg, const struct store_mail *m, char *err, size_t errsz)
{
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	struct reader rd = { m->message, strlen(m->message) };
	char from[STORE_EMAIL_MAX + 3], to[STORE_EMAIL_MAX + 3], cerr[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	long code = 0;

	if (c == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	bare_address(cfg->email_from, from, sizeof(from));
	snprintf(to, sizeof(to), "<%s>", m->recipient);
	rcpt = curl_slist_append(rcpt, to);
	curl_easy_setopt(c, CURLOPT_URL, cfg->email);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (cfg->email_transport == CONFIG_MAIL_SMTP)
		curl_easy_setopt(c, CURLOPT_USE_SSL,
		    cfg->email_tls == CONFIG_TLS_REQUIRE ? (long)CURLUSESSL_ALL :
		        cfg->email_tls == CONFIG_TLS_OFF ? (long)CURLUSESSL_NONE :
		                                           (long)CURLUSESSL_TRY);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		snprintf(err, errsz, "smtp: %s (%ld)%s%s", curl_easy_strerror(rc), code, cerr[0] ? ": " : "",
		    cerr);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

static int
deliver(const struct config *cfg, const struct store_mail *m, char *err, size_t errsz)
{
	if (cfg->email_transport == CONFIG_MAIL_CONSOLE)
		return send_console(m);
	if (cfg->email_transport == CONFIG_MAIL_FILE)
		return send_file(cfg->email + 5, m, err, errsz);
	return send_smtp(cfg, m, err, errsz);
}

/* Record a delivery, trying again for a few seconds while the store is away (a
 * shared database restarting): a delivery left unrecorded is sent again when its
 * lease runs out.  0 at the first try, 1 after more, -1 not recorded. */
static int
mark_sent(struct store *st, int64_t id)
{
	struct timespec pause = { 0, 250 * 1000 * 1000 };

	for (int i = 0; i < 20; i++) {
		if (store_outbox_sent(st, id, now_unix()) == 0)
			return i == 0 ? 0 : 1;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* One pass over what is due; how many messages it handled. */
static int
drain(struct mailer *ml)
{
	const struct config *cfg = &ml->app->cfg;
	struct store *st = ml->app->store;
	struct store_mail batch[BATCH];
	int64_t now = now_unix();
	int n = 0;

	if (store_outbox_claim(st, now, now + cfg->mail_lease, batch, BATCH, &n) != 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char err[512] = "";
		int marked;

		/* past its lease another mailer may have the message already: leave the rest */
		if (now_unix() >= now + cfg->mail_lease - (cfg->mail_lease > 1)) {
			for (int k = i; k < n; k++)
				store_mail_free(&batch[k]);
			return n;
		}
		if (deliver(cfg, &batch[i], err, sizeof(err)) == 0) {
			if ((marked = mark_sent(st, batch[i].id)) < 0)
				log_msg(LOG_ERROR,
				    "mail %lld delivered but not marked sent: it may go out twice",
				    (long long)batch[i].id);
			else
				log_msg(LOG_INFO, "mail %lld delivered", (long long)batch[i].id);
			if (marked != 0) {
				/* the store was away: the rest of the batch waits for its lease to run
				 * out (another mailer may have taken it meanwhile) rather than going
				 * out now with no record of it, or a second time */
				for (int k = i; k < n; k++)
					store_mail_free(&batch[k]);
				return n;
			}
		} else {
			int attempts = batch[i].attempts + 1;
			int64_t delay = cfg->mail_retry;

			metrics_count_mail_failure((int)cfg->email_transport);
			for (int k = 1; k < attempts && delay < BACKOFF_CAP; k++)
				delay *= 2;
			if (delay > BACKOFF_CAP)
				delay = BACKOFF_CAP;
			if (attempts >= GIVE_UP_AFTER) {
				log_msg(LOG_ERROR, "mail %lld: giving up after %d attempts: %s",
				    (long long)batch[i].id, attempts, err);
				store_outbox_failed(st, batch[i].id, INT64_MAX / 2, err);
			} else {
				log_msg(LOG_WARN, "mail %lld: attempt %d failed, retry in %llds: %s",
				    (long long)batch[i].id, attempts, (long long)delay, err);
				store_outbox_failed(st, batch[i].id, now_unix() + delay, err);
			}
		}
		store_mail_free(&batch[i]);
	}
	return n;
}

static void *
run(void *arg)
{
	struct mailer *ml = arg;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&ml->lock);
		if (ml->stopping) {
			pthread_mutex_unlock(&ml->lock);
			break;
		}
		ml->woken = false;
		pthread_mutex_unlock(&ml->lock);

		if (drain(ml) == BATCH)
			continue; /* more may be due */

		pthread_mutex_lock(&ml->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ml->app->cfg.mail_poll;
		while (!ml->stopping && !ml->woken)
			if (pthread_cond_timedwait(&ml->cond, &ml->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&ml->lock);
	}
	return NULL;
}

struct mailer *
mailer_start(struct app *app)
{
	struct mailer *ml = xcalloc(1, sizeof(*ml));

	ml->app = app;
	pthread_mutex_init(&ml->lock, NULL);
	pthread_cond_init(&ml->cond, NULL);
	if (pthread_create(&ml->thread, NULL, run, ml) != 0)
		fatal("cannot start the mailer thread");
	return ml;
}

void
mailer_wake(struct mailer *ml)
{
	if (ml == NULL)
		return;
	pthread_mutex_lock(&ml->lock);
	ml->woken = true;
	pthread_cond_signal(&ml->cond);
	pthread_mutex_unlock(&ml->lock);
}

void
mailer_stop(struct mailer *ml)
{
	if (ml == NULL)
		return;
	pthread_mutex_lock(&ml->lock);
	ml->stopping = true;
	pthread_cond_signal(&ml->cond);
	pthread_mutex_unlock(&ml->lock);
	pthread_join(ml->thread, NULL);
	pthread_cond_destroy(&ml->cond);
	pthread_mutex_destroy(&ml->lock);
	free(ml);
}
