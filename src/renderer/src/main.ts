import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createAppRouter } from './router'
import { useNotify } from './stores/notify'
import './styles.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(createAppRouter())

// Anything not handled where it happened still reaches the analyst, with its message.
app.config.errorHandler = (err) => useNotify(pinia).error('Unexpected error', err)
window.addEventListener('unhandledrejection', (e) => useNotify(pinia).error('Unexpected error', e.reason))

app.mount('#app')
