import { createRouter, createWebHashHistory, type Router } from 'vue-router'
import CasesPage from './pages/CasesPage.vue'
import CasePage from './pages/CasePage.vue'
import ModelsPage from './pages/ModelsPage.vue'
import EvaluatePage from './pages/EvaluatePage.vue'
import DemoPage from './pages/DemoPage.vue'

// Hash history: the app is loaded from file:// where path-based routes cannot resolve.
export function createAppRouter(): Router {
  return createRouter({
    history: createWebHashHistory(),
    routes: [
      { path: '/', redirect: '/cases' },
      { path: '/cases', name: 'cases', component: CasesPage },
      { path: '/cases/:id', name: 'case', component: CasePage, props: true },
      { path: '/cases/:id/evaluate', name: 'evaluate', component: EvaluatePage, props: true },
      { path: '/models', name: 'models', component: ModelsPage },
      { path: '/demo', name: 'demo', component: DemoPage },
      { path: '/:pathMatch(.*)*', redirect: '/cases' }
    ]
  })
}
