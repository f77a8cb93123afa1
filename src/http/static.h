/*
 * static — serving the built SPA from cfg.static_dir: the file if it exists,
 * else index.html (history-mode routing).  Must never serve anything outside
 * that folder: no "..", no symlink out of it.
 */
#ifndef GATEHOUSE_STATIC_H
#define GATEHOUSE_STATIC_H

struct request;

void static_serve(struct request *r);
/* 1 if a file name looks content-hashed by a bundler ("index-Ab12Cd34.js"). */
int static_is_hashed(const char *name);

#endif
