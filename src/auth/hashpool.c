/*
 * hashpool — see hashpool.h.  All state sits behind one mutex that only job
 * hand-over takes; the work itself runs unlocked.
 */
#include "auth/hashpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

struct job {
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
	double queued; /* now_mono() at submit */
	struct job *next;
};

struct hashpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	unsigned capacity; /* threads + max_waiting */
	unsigned inflight; /* reserved + queued + running */
	unsigned running;
	void (*on_wait)(double seconds);
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	int background;
};

static void *
worker(void *arg)
{
	struct hashpool *p = arg;

	/* Linux: nice applies per thread; best effort */
	if (p->background)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->running++;
		pthread_mutex_unlock(&p->lock);

		if (p->on_wait)
			p->on_wait(now_mono() - j->queued);
		j->work(j->arg);
		pthread_mutex_lock(&p->lock);
		p->running--;
		p->inflight--;
		pthread_mutex_unlock(&p->lock);
		/* after the count drops: done may resume a request that queues again */
		if (j->done)
			j->done(j->arg);
		free(j);
	}
}

struct hashpool *
hashpool_new(unsigned threads, unsigned max_waiting, int background)
{
	struct hashpool *p = xcalloc(1, sizeof(*p));

	p->background = background;
	if (threads == 0)
		threads = 1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->capacity = threads + max_waiting;
	p->nthreads = threads;
	p->threads = xcalloc(threads, sizeof(*p->threads));
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			fatal("cannot start hash worker thread");
	return p;
}

int
hashpool_reserve(struct hashpool *p)
{
	int ret = -1;

	pthread_mutex_lock(&p->lock);
	if (!p->stopping && p->inflight < p->capacity) {
		p->inflight++;
		ret = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void
hashpool_release(struct hashpool *p)
{
	pthread_mutex_lock(&p->lock);
	p->inflight--;
	pthread_mutex_unlock(&p->lock);
}

void
hashpool_submit(struct hashpool *p, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct job *j = xmalloc(sizeof(*j));

	j->work = work;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	j->queued = now_mono();
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

unsigned
hashpool_pending(struct hashpool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->inflight;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
hashpool_stats(struct hashpool *p, unsigned *queued, unsigned *running)
{
	pthread_mutex_lock(&p->lock);
	*running = p->running;
	*queued = p->inflight - p->running;
	pthread_mutex_unlock(&p->lock);
}

void
hashpool_on_wait(struct hashpool *p, void (*on_wait)(double seconds))
{
	p->on_wait = on_wait;
}

void
hashpool_free(struct hashpool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
