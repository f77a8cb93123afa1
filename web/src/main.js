import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { applyTheme } from './config.js'
import { createAppRouter } from './router.js'
import './styles/main.css'

applyTheme()
const pinia = createPinia()
const router = createAppRouter(pinia)
createApp(App).use(pinia).use(router).mount('#app')
