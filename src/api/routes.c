/*
 * routes — the API reference, as a table (docs/design.md §2).
 */
#include "api/api.h"
#include "http/router.h"

/* clang-format off */
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
	{ M_POST, "/api/auth/reauthenticate/",    api_reauthenticate,         ROUTE_LOGIN_REQUIRED },
	/* social login (fixed paths before the <name> ones) */
	{ M_GET,    "/api/social/providers/",         api_social_providers,       0 },
	{ M_GET,    "/api/social/identities/",        api_social_identities,      ROUTE_LOGIN_REQUIRED },
	{ M_DELETE, "/api/social/identities/<id>/",   api_social_identity_delete, ROUTE_LOGIN_REQUIRED },
	{ M_GET,    "/api/social/<name>/authorize/",  api_social_authorize,       0 },
	{ M_POST,   "/api/social/<name>/connect/",    api_social_connect,         ROUTE_LOGIN_REQUIRED },
	{ M_POST,   "/api/social/<name>/",            api_social_callback,        0 },
	/* own sessions and API tokens */
	{ M_GET,    "/api/sessions/",                 api_sessions_list,          ROUTE_LOGIN_REQUIRED },
	{ M_DELETE, "/api/sessions/<id>/",            api_session_delete,         ROUTE_LOGIN_REQUIRED },
	{ M_POST,   "/api/sessions/revoke-others/",   api_sessions_revoke_others, ROUTE_LOGIN_REQUIRED },
	{ M_GET,    "/api/tokens/",                   api_tokens_list,            ROUTE_LOGIN_REQUIRED },
	{ M_POST,   "/api/tokens/",                   api_tokens_create,          ROUTE_LOGIN_REQUIRED },
	{ M_DELETE, "/api/tokens/<id>/",              api_token_delete,           ROUTE_LOGIN_REQUIRED },
	/* admin (staff only) */
	{ M_GET,    "/api/admin/users/",                          api_admin_users,                ROUTE_STAFF },
	{ M_POST,   "/api/admin/users/",                          api_admin_user_create,          ROUTE_STAFF },
	{ M_GET,    "/api/admin/users/<id>/",                     api_admin_user,                 ROUTE_STAFF },
	{ M_PATCH,  "/api/admin/users/<id>/",                     api_admin_user_update,          ROUTE_STAFF },
	{ M_GET,    "/api/admin/users/<id>/sessions/",            api_admin_user_sessions,        ROUTE_STAFF },
	{ M_DELETE, "/api/admin/users/<id>/sessions/",            api_admin_user_sessions_delete, ROUTE_STAFF },
	{ M_DELETE, "/api/admin/users/<id>/sessions/<sid>/",      api_admin_session_delete,       ROUTE_STAFF },
	{ M_GET,    "/api/admin/users/<id>/tokens/",              api_admin_user_tokens,          ROUTE_STAFF },
	{ M_DELETE, "/api/admin/users/<id>/tokens/<tid>/",        api_admin_token_delete,         ROUTE_STAFF },
	{ M_POST,   "/api/admin/users/<id>/password-reset/",      api_admin_user_password_reset,  ROUTE_STAFF },
	{ M_GET,    "/api/admin/audit/",                          api_admin_audit,                ROUTE_STAFF },
	/* forward auth (nginx auth_request) */
	{ M_GET,  "/api/auth/verify/",      api_verify,           ROUTE_LOGIN_REQUIRED | ROUTE_EXACT_METHODS },
	/* operations */
	{ M_GET,  "/healthz",               api_healthz,          ROUTE_NO_AUTH },
	{ 0, NULL, NULL, 0 },
};
/* clang-format on */
