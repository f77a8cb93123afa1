/*
 * routes — the API reference, as a table (docs/design.md §2).
 */
#include "api/api.h"
#include "http/router.h"

/* clang-format off */
const struct route routes[] = {
	/* seed-compatible */
	{ M_GET,  "/api/login-set-cookie/", api_login_set_cookie, ROUTE_MFA_SETUP, NULL },
	{ M_POST, "/api/login/",            api_login,            ROUTE_MFA_SETUP, api_login_finish },
	{ M_POST, "/api/logout/",           api_logout,           ROUTE_MFA_SETUP, NULL },
	{ M_GET,  "/api/users/profile/",    api_profile,          ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	/* accounts by email */
	{ M_POST, "/api/signup/",                 api_signup,                 0, api_signup_finish },
	{ M_POST, "/api/signup/confirm/",         api_signup_confirm,         0, NULL },
	{ M_POST, "/api/signup/resend/",          api_signup_resend,          0, NULL },
	{ M_POST, "/api/password/reset/",         api_password_reset,         0, NULL },
	{ M_POST, "/api/password/reset/confirm/", api_password_reset_confirm, 0, api_password_reset_confirm_finish },
	{ M_POST, "/api/password/change/",        api_password_change,        ROUTE_LOGIN_REQUIRED, api_password_change_finish },
	{ M_POST, "/api/auth/reauthenticate/",    api_reauthenticate,         ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, api_reauthenticate_finish },
	{ M_POST, "/api/auth/reauthenticate/webauthn/options/", api_reauth_webauthn_options, ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	/* second factors (docs/mfa-contract.md): the second step of a login, passkey sign-in, the owner's factors */
	{ M_GET,    "/api/mfa/authenticate/",                  api_mfa_pending,                   ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/mfa/authenticate/",                  api_mfa_authenticate,              ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/mfa/authenticate/webauthn/options/", api_mfa_pending_options,           ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/passkey/options/",                   api_passkey_options,               ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/passkey/login/",                     api_passkey_login,                 ROUTE_MFA_SETUP, NULL },
	{ M_GET,    "/api/mfa/",                               api_mfa_status,                    ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/mfa/totp/setup/",                    api_mfa_totp_setup,                ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/mfa/totp/confirm/",                  api_mfa_totp_confirm,              ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	{ M_DELETE, "/api/mfa/totp/",                          api_mfa_totp_delete,               ROUTE_LOGIN_REQUIRED, NULL },
	{ M_POST,   "/api/mfa/recovery-codes/",                api_mfa_recovery_regenerate,       ROUTE_LOGIN_REQUIRED, NULL },
	{ M_POST,   "/api/mfa/webauthn/register/options/",     api_mfa_webauthn_register_options, ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/mfa/webauthn/register/",             api_mfa_webauthn_register,         ROUTE_LOGIN_REQUIRED | ROUTE_MFA_SETUP, NULL },
	{ M_PATCH,  "/api/mfa/webauthn/<id>/",                 api_mfa_webauthn_rename,           ROUTE_LOGIN_REQUIRED, NULL },
	{ M_DELETE, "/api/mfa/webauthn/<id>/",                 api_mfa_webauthn_delete,           ROUTE_LOGIN_REQUIRED, NULL },
	/* social login (fixed paths before the <name> ones) */
	{ M_GET,    "/api/social/providers/",         api_social_providers,       ROUTE_MFA_SETUP, NULL },
	{ M_GET,    "/api/social/identities/",        api_social_identities,      ROUTE_LOGIN_REQUIRED, NULL },
	{ M_DELETE, "/api/social/identities/<id>/",   api_social_identity_delete, ROUTE_LOGIN_REQUIRED, NULL },
	{ M_GET,    "/api/social/<name>/authorize/",  api_social_authorize,       ROUTE_MFA_SETUP, NULL },
	{ M_POST,   "/api/social/<name>/connect/",    api_social_connect,         ROUTE_LOGIN_REQUIRED, NULL },
	{ M_POST,   "/api/social/<name>/",            api_social_callback,        ROUTE_MFA_SETUP, NULL },
	/* own sessions and API tokens */
	{ M_GET,    "/api/sessions/",                 api_sessions_list,          ROUTE_LOGIN_REQUIRED, NULL },
	{ M_DELETE, "/api/sessions/<id>/",            api_session_delete,         ROUTE_LOGIN_REQUIRED, NULL },
	{ M_POST,   "/api/sessions/revoke-others/",   api_sessions_revoke_others, ROUTE_LOGIN_REQUIRED, NULL },
	{ M_GET,    "/api/tokens/",                   api_tokens_list,            ROUTE_LOGIN_REQUIRED, NULL },
	{ M_POST,   "/api/tokens/",                   api_tokens_create,          ROUTE_LOGIN_REQUIRED, api_tokens_create_finish },
	{ M_DELETE, "/api/tokens/<id>/",              api_token_delete,           ROUTE_LOGIN_REQUIRED, NULL },
	/* admin (staff only) */
	{ M_GET,    "/api/admin/users/",                          api_admin_users,                ROUTE_STAFF, NULL },
	{ M_POST,   "/api/admin/users/",                          api_admin_user_create,          ROUTE_STAFF, NULL },
	{ M_GET,    "/api/admin/users/<id>/",                     api_admin_user,                 ROUTE_STAFF, NULL },
	{ M_PATCH,  "/api/admin/users/<id>/",                     api_admin_user_update,          ROUTE_STAFF, NULL },
	{ M_GET,    "/api/admin/users/<id>/sessions/",            api_admin_user_sessions,        ROUTE_STAFF, NULL },
	{ M_DELETE, "/api/admin/users/<id>/sessions/",            api_admin_user_sessions_delete, ROUTE_STAFF, NULL },
	{ M_DELETE, "/api/admin/users/<id>/sessions/<sid>/",      api_admin_session_delete,       ROUTE_STAFF, NULL },
	{ M_GET,    "/api/admin/users/<id>/tokens/",              api_admin_user_tokens,          ROUTE_STAFF, NULL },
	{ M_DELETE, "/api/admin/users/<id>/tokens/<tid>/",        api_admin_token_delete,         ROUTE_STAFF, NULL },
	{ M_POST,   "/api/admin/users/<id>/password-reset/",      api_admin_user_password_reset,  ROUTE_STAFF, NULL },
	{ M_DELETE, "/api/admin/users/<id>/mfa/",                 api_admin_user_mfa_delete,      ROUTE_STAFF, NULL },
	{ M_GET,    "/api/admin/audit/",                          api_admin_audit,                ROUTE_STAFF, NULL },
	/* forward auth (nginx auth_request) */
	{ M_GET,  "/api/auth/verify/",      api_verify,           ROUTE_LOGIN_REQUIRED | ROUTE_EXACT_METHODS, NULL },
	/* operations */
	{ M_GET,  "/api/schema/",           api_schema,           ROUTE_NO_AUTH, NULL },
	{ M_GET,  "/healthz",               api_healthz,          ROUTE_NO_AUTH, NULL },
	{ M_GET,  "/metrics",               api_metrics,          ROUTE_NO_AUTH, NULL },
	{ 0, NULL, NULL, 0, NULL },
};
/* clang-format on */
