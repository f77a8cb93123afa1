/*
 * api/users — the signed-in user's own data.
 */
#include "api/api.h"
#include "http/http.h"
#include "auth/caller.h"
#include "accounts/user.h"

void
api_profile(struct request *r)
{
	respond_json(r, 200, user_profile_json(&r->caller->user));
}
