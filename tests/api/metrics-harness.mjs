// Helpers for the Prometheus metrics (GET /metrics, README "Metrics"): a
// server with the separate metrics listener, and a scrape read by a real
// Prometheus text parser (parse-prometheus-text-format), with the checks that
// every scrape must pass: the parser reads all of it, every series of a
// histogram has rising buckets ending in +Inf = _count.
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { freePort, startServer } from './harness.mjs';

export const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** startServer(opts) with GATEHOUSE_METRICS_LISTEN on a free port: server.metricsUrl is its /metrics. */
export async function startWithMetrics(opts = {}) {
	const port = await freePort();
	const server = await startServer({
		...opts,
		env: { ...(opts.env || {}), GATEHOUSE_METRICS_LISTEN: `127.0.0.1:${port}` },
	});
	server.metricsPort = port;
	server.metricsUrl = `http://127.0.0.1:${port}/metrics`;
	return server;
}

function sameLabels(have = {}, want = {}) {
	const a = Object.keys(have).filter((k) => k !== 'le');
	const b = Object.keys(want);
	return a.length === b.length && b.every((k) => have[k] === want[k]);
}

/**
 * Parse an exposition with the real parser and check it; returns {text,
 * families, samples, value(name, labels), histogram(name, labels)}.
 * value: the sample's number (0 when the series is absent: a counter not yet
 * moved); histogram: {count, sum, buckets: [[le, n], ...] by le} or null.
 *
 * parse-prometheus-text-format 1.1.1 folds every series of a histogram into
 * one (flattenMetrics keeps the last bucket of each le and drops the labelled
 * _sum and _count), so the text is read twice by it: as sent (every line must
 * parse, with its TYPE), and with the histograms' TYPE lines turned untyped,
 * which yields each _bucket, _sum and _count sample with its own labels.
 */
export function readExposition(text) {
	const families = parsePrometheusTextFormat(text);
	const flat = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'));
	const samples = [];
	for (const f of flat)
		for (const m of f.metrics) samples.push({ name: f.name, labels: m.labels || {}, value: m.value });
	const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
	assert.equal(samples.length, lines.length, 'the parser read every sample line');
	assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
	for (const f of families) {
		assert.ok(f.help.length > 0, `${f.name}: HELP`);
		assert.match(f.name, /^gatehouse_[a-z_]+$/, 'names are prefixed gatehouse_');
	}
	const value = (name, labels = {}) => {
		const m = samples.find((x) => x.name === name && sameLabels(x.labels, labels) && !('le' in x.labels));
		return m ? Number(m.value) : 0;
	};
	const histogram = (name, labels = {}) => {
		const count = samples.find((x) => x.name === `${name}_count` && sameLabels(x.labels, labels));
		if (!count) return null;
		const sum = samples.find((x) => x.name === `${name}_sum` && sameLabels(x.labels, labels));
		const buckets = samples
			.filter((x) => x.name === `${name}_bucket` && sameLabels(x.labels, labels))
			.map((x) => [x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), Number(x.value)]);
		return { count: Number(count.value), sum: sum ? Number(sum.value) : NaN, buckets };
	};
	// every series of every histogram: buckets rise with le, end in +Inf = _count, _sum >= 0
	for (const f of families.filter((x) => x.type === 'HISTOGRAM')) {
		const series = samples.filter((x) => x.name === `${f.name}_bucket`);
		for (const b of series)
			assert.ok(
				histogram(f.name, Object.fromEntries(Object.entries(b.labels).filter(([k]) => k !== 'le'))),
				`${f.name}: _count of every series`,
			);
		for (const c of samples.filter((x) => x.name === `${f.name}_count`)) {
			const h = histogram(f.name, c.labels);
			const what = `${f.name}${JSON.stringify(c.labels)}`;
			assert.ok(h.buckets.length >= 2, `${what}: buckets`);
			for (let i = 1; i < h.buckets.length; i++) {
				assert.ok(h.buckets[i][0] > h.buckets[i - 1][0], `${what}: le in rising order`);
				assert.ok(h.buckets[i][1] >= h.buckets[i - 1][1], `${what}: cumulative buckets`);
			}
			assert.equal(h.buckets[h.buckets.length - 1][0], Infinity, `${what}: ends with le="+Inf"`);
			assert.equal(h.buckets[h.buckets.length - 1][1], h.count, `${what}: +Inf bucket = _count`);
			assert.ok(h.sum >= 0, `${what}: _sum`);
		}
	}
	return { text, families, samples, family: (name) => families.find((f) => f.name === name), value, histogram };
}

/** GET url (the metrics listener's, or the public /metrics with headers): asserts 200 and the type. */
export async function scrape(url, headers = {}) {
	const res = await fetch(url, { headers });
	const text = await res.text();
	assert.equal(res.status, 200, `scrape ${url}: ${res.status} ${text}`);
	assert.equal(res.headers.get('content-type'), METRICS_TYPE);
	assert.equal(res.headers.get('cache-control'), 'no-store');
	return readExposition(text);
}

/** Poll the metrics listener until pred(scrape) is true or `ms` pass; returns the last scrape. */
export async function scrapeUntil(url, pred, ms) {
	const end = Date.now() + ms;
	for (;;) {
		const s = await scrape(url);
		if (pred(s) || Date.now() > end) return s;
		await new Promise((r) => setTimeout(r, 50));
	}
}
