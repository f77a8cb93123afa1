/*
 * webhook/worker — see worker.h.  The only module that sends webhooks.
 */
#include "webhook/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "store/store.h"
#include "util.h"
#include "webhook/endpoints.h"
#include "webhook/webhook.h"

#define BATCH          8
#define BACKOFF_CAP_MS 3600000LL
#define ANSWER_MAX     65536 /* bytes of an answer read before the transfer is cut */
#define RECHECKS       20    /* quick looks after a wake that found nothing (a commit still on its way) */
#define RECHECK_MS     100

struct webhook_worker {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool woken;
	_Atomic bool stopping;
	int64_t soonest_ms; /* the earliest retry this worker scheduled (0: none), to wake for it */
};

enum webhook_outcome
webhook_outcome_of(long status)
{
	if (status >= 200 && status <= 299)
		return WEBHOOK_DELIVERED;
	if (status >= 400 && status <= 499 && status != 408 && status != 429)
		return WEBHOOK_GIVE_UP;
	return WEBHOOK_RETRY;
}

int64_t
webhook_backoff_ms(long base_ms, int attempts)
{
	int64_t d = base_ms > 0 ? base_ms : 1;

	for (int k = 1; k < attempts && d < BACKOFF_CAP_MS; k++)
		d *= 2;
	return d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the URL without its query (which may hold a token of the receiver's) for log lines */
static void
url_for_log(const char *url, char *out, size_t outsz)
{
	size_t n = strcspn(url, "?");

	snprintf(out, outsz, "%.*s", (int)(n < 200 ? n : 200), url);
}

struct answer {
	size_t total;
};

static size_t
on_answer(char *buf, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;

	(void)buf;
	a->total += size * n;
	return a->total > ANSWER_MAX ? 0 : size * n; /* read and dropped; too much: cut */
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct webhook_worker *w = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(&w->stopping) ? 1 : 0; /* stopping: cut, the lease brings it back */
}

/* POST one message; *status gets the HTTP status (0: none).  0 when an answer came, 1 when cut
 * short by a stop, -1 with err on a transport error. */
static int
post(struct webhook_worker *w, const struct webhook_endpoint *ep, const struct store_webhook *m, long *status,
    char *err, size_t errsz)
{
	const struct config *cfg = &w->app->cfg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct answer ans = { 0 };
	char line[160], sig[WEBHOOK_SIGNATURE_MAX], cerr[CURL_ERROR_SIZE] = "";
	int64_t ts = now_unix();
	size_t len = strlen(m->payload);
	CURLcode rc;
	int ret;

	*status = 0;
	if (c == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	if (webhook_sign(ep->key, ep->keylen, m->msg_id, ts, m->payload, len, sig, sizeof(sig)) != 0) {
		curl_easy_cleanup(c);
		snprintf(err, errsz, "cannot sign");
		return -1;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: gatehouse-webhooks/1");
	h = curl_slist_append(h, "Expect:");
	snprintf(line, sizeof(line), "webhook-id: %s", m->msg_id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "webhook-signature: %s", sig);
	h = curl_slist_append(h, line);
	curl_easy_setopt(c, CURLOPT_URL, m->endpoint);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, m->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    cfg->webhook_timeout < 5 ? cfg->webhook_timeout * 1000L : 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->webhook_timeout * 1000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && *status > 0))
		ret = 0; /* an answer came (a long body cut short: its status stands) */
	else if (rc == CURLE_ABORTED_BY_CALLBACK)
		ret = 1;
	else {
		snprintf(err, errsz, "%s%s%s", curl_easy_strerror(rc), cerr[0] ? ": " : "", cerr);
		*status = 0;
		ret = -1;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	sodium_memzero(sig, sizeof(sig));
	return ret;
}

/* Record an outcome, trying again for a few seconds while the store is away (a shared database
 * restarting): a delivery left unrecorded goes out again when its lease runs out. */
static int
record(struct store *st, const struct store_webhook *m, enum webhook_outcome o, long status, const char *err,
    int64_t next_ms)
{
	struct timespec pause = { 0, 250 * 1000 * 1000 };

	for (int i = 0; i < 20; i++) {
		int rc = o == WEBHOOK_DELIVERED ?
		    store_webhook_delivered(st, m->id, (int)status, now_unix()) :
		    store_webhook_failed(st, m->id, (int)status, err, next_ms, o == WEBHOOK_GIVE_UP,
		        now_unix());
		if (rc == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* One attempt at m and its outcome recorded; false when cut short by a stop.  A retry's time
 * goes into w->soonest_ms. */
static bool
attempt(struct webhook_worker *w, struct store_webhook *m)
{
	const struct config *cfg = &w->app->cfg;
	const struct webhook_endpoint *ep = webhook_endpoint_find(m->endpoint);
	char err[300] = "", where[220];
	enum webhook_outcome o;
	int attempts = m->attempts + 1;
	int64_t next = 0;
	long status = 0;
	int rc;

	url_for_log(m->endpoint, where, sizeof(where));
	if (ep == NULL) {
		/* its endpoint left the configuration: nobody to sign for or send to */
		log_msg(LOG_WARN, "webhook %s (%s) to %s: the endpoint is no longer configured: given up",
		    m->msg_id, m->event, where);
		record(w->app->store, m, WEBHOOK_GIVE_UP, 0, "endpoint no longer configured", 0);
		return true;
	}
	if ((rc = post(w, ep, m, &status, err, sizeof(err))) == 1)
		return false;
	o = rc == 0 ? webhook_outcome_of(status) : WEBHOOK_RETRY;
	if (rc == 0 && o != WEBHOOK_DELIVERED)
		snprintf(err, sizeof(err), "HTTP %ld", status);
	if (o == WEBHOOK_DELIVERED)
		log_msg(LOG_INFO, "webhook %s (%s) delivered to %s: %ld", m->msg_id, m->event, where, status);
	else {
		metrics_count_webhook_failure();
		if (o == WEBHOOK_RETRY &&
		    (attempts >= cfg->webhook_max_attempts ||
		        now_unix() - m->created_at >= cfg->webhook_max_age))
			o = WEBHOOK_GIVE_UP;
		if (o == WEBHOOK_GIVE_UP)
			log_msg(LOG_ERROR, "webhook %s (%s) to %s: given up after attempt %d: %s", m->msg_id,
			    m->event, where, attempts, err);
		else {
			int64_t delay = webhook_backoff_ms(cfg->webhook_retry_base_ms, attempts);
			next = now_ms() + delay;
			if (w->soonest_ms == 0 || next < w->soonest_ms)
				w->soonest_ms = next;
			log_msg(LOG_WARN, "webhook %s (%s) to %s: attempt %d failed, retry in %lld ms: %s",
			    m->msg_id, m->event, where, attempts, (long long)delay, err);
		}
	}
	if (record(w->app->store, m, o, status, err, next) != 0)
		log_msg(LOG_ERROR, "webhook %s: outcome not recorded: it goes again after its lease",
		    m->msg_id);
	return true;
}

/* One pass over what is due; how many messages it claimed. */
static int
drain(struct webhook_worker *w)
{
	const struct config *cfg = &w->app->cfg;
	struct store_webhook batch[BATCH];
	int64_t start = now_ms(), lease_until = start + cfg->webhook_lease * 1000;
	int n = 0, i;

	if (w->soonest_ms != 0 && w->soonest_ms <= start)
		w->soonest_ms = 0; /* due: this pass takes it */
	if (store_webhook_claim(w->app->store, start, lease_until, batch, BATCH, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		/* an attempt must end inside the lease, or another worker may send it at the same time */
		if (atomic_load(&w->stopping) || now_ms() + cfg->webhook_timeout * 1000 >= lease_until)
			break;
		if (!attempt(w, &batch[i]))
			break;
		store_webhook_free(&batch[i]);
	}
	for (; i < n; i++)
		store_webhook_free(&batch[i]); /* left to their lease */
	return n;
}

static void *
run(void *arg)
{
	struct webhook_worker *w = arg;
	int rechecks = 0;

	for (;;) {
		struct timespec until;
		bool was_woken;
		int64_t wait_ms;
		int n;

		pthread_mutex_lock(&w->lock);
		was_woken = w->woken;
		w->woken = false;
		pthread_mutex_unlock(&w->lock);
		if (atomic_load(&w->stopping))
			break;
		n = drain(w);
		if (n == BATCH)
			continue; /* more may be due */
		/* woken for a row not yet visible (its transaction commits just after the wake): look again
		 * soon */
		if (was_woken && n == 0)
			rechecks = RECHECKS;
		/* sleep until the next poll, a quick re-look, or the soonest retry this worker scheduled */
		wait_ms = w->app->cfg.webhook_poll * 1000;
		if (rechecks > 0) {
			rechecks--;
			wait_ms = RECHECK_MS;
		}
		if (w->soonest_ms != 0) {
			int64_t until_retry = w->soonest_ms - now_ms();
			if (until_retry <= 0)
				w->soonest_ms = 0; /* due now: the next pass takes it */
			if (until_retry < wait_ms)
				wait_ms = until_retry > 0 ? until_retry : 0;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		while (!atomic_load(&w->stopping) && !w->woken)
			if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

static void
wake(void *arg)
{
	struct webhook_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	w->woken = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct webhook_worker *
webhook_worker_start(struct app *app)
{
	struct webhook_worker *w;

	if (webhook_endpoint_count() == 0)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->app = app;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		fatal("cannot start the webhook thread");
	webhook_set_waker(wake, w);
	return w;
}

void
webhook_worker_stop(struct webhook_worker *w)
{
	if (w == NULL)
		return;
	webhook_set_waker(NULL, NULL);
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
