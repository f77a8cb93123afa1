/*
 * api — the HTTP handlers, one file per group of endpoints; src/api/routes.c
 * maps them to paths.  A handler may assume the router has resolved auth and
 * checked CSRF for unsafe methods (router.h).
 */
#ifndef GATEHOUSE_API_H
#define GATEHOUSE_API_H

struct request;

/* auth.c */
void api_login_set_cookie(struct request *r);
void api_login(struct request *r);
void api_logout(struct request *r);
/* users.c */
void api_profile(struct request *r);
/* verify.c */
void api_verify(struct request *r);
/* health.c */
void api_healthz(struct request *r);

#endif
