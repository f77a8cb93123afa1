// One page-level message (a banner under the header) for failures that do not
// belong to a form: a background profile load, the header's Log out button.
import { defineStore } from 'pinia'
import { ref } from 'vue'

export const useNoticeStore = defineStore('notice', () => {
  const notice = ref(null) // { kind: 'error' | 'success' | 'info', text }

  function show(text, kind = 'error') {
    notice.value = { kind, text }
  }
  function dismiss() {
    notice.value = null
  }
  return { notice, show, dismiss }
})
