/*
 * api/users — the signed-in user's own data.
 */
#include "api/api.h"
#include "http.h"
#include "user.h"

void
api_profile(struct request *r)
{
	respond_json(r, 200, user_profile_json(&r->user));
}
