// A paged admin list whose page number lives in the URL (?page=): the page,
// the last answer loaded, and load(), which asks fetchPage(page) and keeps
// only the answer of the latest call (a slow earlier answer never overwrites
// a newer one).  onResult(result) runs for that answer only.  invalidPage: the
// server has no such page (404 past the first), to offer the first page.
import { computed, ref } from 'vue'
import { useRoute } from 'vue-router'

export function usePagedList(fetchPage, onResult = () => {}) {
  const route = useRoute()
  const page = computed(() => {
    const n = Number(route.query.page)
    return Number.isInteger(n) && n > 0 ? n : 1
  })
  const data = ref(null) // the last page loaded
  const loading = ref(false)
  const error = ref(null) // GatehouseError
  let seq = 0

  async function load() {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const result = await fetchPage(page.value)
      if (mine !== seq) return
      data.value = result
      onResult(result)
    } catch (e) {
      if (mine !== seq) return
      if (e.status !== 401) error.value = e // 401: the router goes to the login page
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  const invalidPage = computed(() => error.value?.status === 404 && page.value > 1)
  return { page, data, loading, error, load, invalidPage }
}
