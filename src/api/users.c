/*
 * api/users — the signed-in user's own data.
 */
#include "api/api.h"
#include "http/http.h"
#include "auth/caller.h"
#include "accounts/user.h"
#include "app.h"
#include "auth/mfa.h"

void
api_profile(struct request *r)
{
	json_t *j = user_profile_json(&r->caller->user);

	/* MFA_REQUIRED: this session may only set up a second factor */
	if (mfa_setup_required(&r->app->cfg, &r->caller->user))
		json_object_set_new(j, "mfa_setup_required", json_true());
	respond_json(r, 200, j);
}
