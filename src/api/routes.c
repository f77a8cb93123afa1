/*
 * routes — the API reference, as a table (DESIGN §2).
 */
#include "api/api.h"
#include "router.h"

const struct route routes[] = {
	/* seed-compatible */
	{ M_GET,  "/api/login-set-cookie/", api_login_set_cookie, 0 },
	{ M_POST, "/api/login/",            api_login,            0 },
	{ M_POST, "/api/logout/",           api_logout,           0 },
	{ M_GET,  "/api/users/profile/",    api_profile,          ROUTE_LOGIN_REQUIRED },
	/* accounts by email */
	{ M_POST, "/api/signup/",                 api_signup,                 0 },
	{ M_POST, "/api/signup/confirm/",         api_signup_confirm,         0 },
	{ M_POST, "/api/signup/resend/",          api_signup_resend,          0 },
	{ M_POST, "/api/password/reset/",         api_password_reset,         0 },
	{ M_POST, "/api/password/reset/confirm/", api_password_reset_confirm, 0 },
	{ M_POST, "/api/password/change/",        api_password_change,        ROUTE_LOGIN_REQUIRED },
	/* forward auth (nginx auth_request) */
	{ M_GET,  "/api/auth/verify/",      api_verify,           ROUTE_LOGIN_REQUIRED },
	/* operations */
	{ M_GET,  "/healthz",               api_healthz,          ROUTE_NO_AUTH },
	{ 0, NULL, NULL, 0 },
};
