#!/usr/bin/env node
// The API suite on PostgreSQL (`make api-pg`): one throw-away cluster for the whole
// run (pg.mjs), then `node --test` on the given files with GATEHOUSE_TEST_PG saying
// where it is, so every server the harness starts gets a fresh database there.
//
//   node run-pg.mjs [node --test options...] FILE.test.mjs...
//   (default --test-concurrency=2)
//
// The cluster is stopped by its PID when the tests end (or this runner is
// interrupted) and its temp dir removed; the exit code is the tests'.  Node's
// summary lines (tests, pass, fail...) are repeated at the end, after the
// cluster's stop, marked as the PostgreSQL run's.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atExit, makeTemplate, startCluster } from './pg.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const options = args.filter((a) => a.startsWith('-'));
const files = args.filter((a) => !a.startsWith('-'));
if (files.length === 0) {
	process.stderr.write('usage: node run-pg.mjs [node --test options] FILE.test.mjs...\n');
	process.exit(2);
}
if (!options.some((o) => o.startsWith('--test-concurrency'))) options.push('--test-concurrency=2');

const t0 = performance.now();
// initdb once: the shared cluster and every private one a test file starts copy it
const template = makeTemplate();
atExit(() => fs.rmSync(template.dir, { recursive: true, force: true }));
let cluster;
try {
	cluster = await startCluster({ template: template.dataDir });
} catch (e) {
	fs.rmSync(template.dir, { recursive: true, force: true });
	throw e;
}
process.stdout.write(
	`PostgreSQL test cluster: 127.0.0.1:${cluster.port}, pid ${cluster.pid}, ` +
		`ready in ${Math.round(performance.now() - t0)} ms\n`,
);

const env = {
	...process.env,
	GATEHOUSE_TEST_PG: JSON.stringify({
		host: '127.0.0.1',
		port: cluster.port,
		socketDir: cluster.socketDir,
		template: template.dataDir,
	}),
};
// its own process group, so an interruption reaches every test process and server at once
const child = spawn(process.execPath, ['--test', ...options, ...files], {
	cwd: HERE,
	env,
	stdio: ['ignore', 'pipe', 'inherit'],
	detached: true,
});

// pass node's output through as it comes, keeping the summary lines (tap: "# pass 12",
// spec: "ℹ pass 12") for the end
const SUMMARY = /^(# |\u2139 )(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;
const summary = [];
let partial = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (d) => {
	process.stdout.write(d);
	const lines = (partial + d).split('\n');
	partial = lines.pop();
	for (const l of lines) if (SUMMARY.test(l)) summary.push(l);
});

let stopping = false;
async function finish(code) {
	if (stopping) return;
	stopping = true;
	const res = await cluster.destroy();
	const how = !res ? 'was not running' : res.signal ? `ended by ${res.signal}` : `exit ${res.code}`;
	fs.rmSync(template.dir, { recursive: true, force: true });
	if (partial && SUMMARY.test(partial)) summary.push(partial);
	const log = cluster.log().trim();
	process.stdout.write(
		`\nPostgreSQL run summary (cluster stopped: ${how}; ` +
			`${Math.round((performance.now() - t0) / 1000)} s in all):\n` +
			summary.map((l) => `  ${l}\n`).join('') +
			(code !== 0 && log ? `--- PostgreSQL log (tail) ---\n${log.split('\n').slice(-40).join('\n')}\n` : ''),
	);
	process.exit(code);
}

child.on('exit', (code, signal) => finish(code ?? 128 + (os.constants.signals[signal] || 0)));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(sig, () => {
		try {
			process.kill(-child.pid, sig);
		} catch {
			/* the group is gone */
		}
		// the child's exit runs finish(); if it does not exit, stop anyway
		setTimeout(() => finish(130), 15000).unref();
	});
}
