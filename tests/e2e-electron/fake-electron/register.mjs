// node --import ./register.mjs out/main/index.js: runs the built main process in plain Node,
// with `electron` resolved to ./electron.mjs.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
