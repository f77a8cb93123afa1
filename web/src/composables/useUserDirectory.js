// Email addresses for user ids (the audit log only has ids), looked up with
// GET /api/admin/users/<id>/ once per id and page load.  An id that cannot be
// resolved (deleted, or no permission) stays a number.
import { reactive } from 'vue'
import { gatehouse } from '../gatehouse.js'

const emails = reactive({}) // id -> email | null
const pending = new Map()

export function useUserDirectory() {
  function lookup(ids) {
    for (const id of new Set(ids)) {
      if (id === null || id === undefined || id in emails || pending.has(id)) continue
      pending.set(
        id,
        gatehouse.admin
          .user(id)
          .then(
            (u) => {
              emails[id] = u?.email || null
            },
            (error) => {
              if (error.status === 404) emails[id] = null
            },
          )
          .finally(() => pending.delete(id)),
      )
    }
  }
  function remember(user) {
    if (user?.id !== undefined) emails[user.id] = user.email
  }
  return { emails, lookup, remember }
}
