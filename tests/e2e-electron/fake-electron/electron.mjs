// A recording stand-in for the parts of Electron that src/main uses, plus a driver that, once
// the main process has opened its window, exercises what it registered and prints a report:
// IPC channels and their sender check, window preferences, permission, request, navigation
// and window-open policies, the app:// protocol, folder grants, the menu, a report export through
// the hidden print window, and a clean shutdown.
// Paths come from UNVEIL_FAKE_HOME; UNVEIL_FAKE_DIALOG is a JSON list of the folders the native
// dialog answers, one per call (cancelled once they run out); UNVEIL_FAKE_PACKAGED=1 makes
// app.isPackaged true; UNVEIL_FAKE_SETTLE_MS delays the quit.
//
// printToPDF is the one real piece: it prints the page the window loaded with a local Chromium
// through the DevTools protocol's Page.printToPDF, which takes the same options as Electron's
// (Electron's own printToPDF drives Chromium's headless printing with them).
import { fork } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'

const home = process.env.UNVEIL_FAKE_HOME
if (!home) throw new Error('UNVEIL_FAKE_HOME is not set')
const dialogAnswers = JSON.parse(process.env.UNVEIL_FAKE_DIALOG || '[]')
const firstAnswer = dialogAnswers[0] ?? null

const handlers = new Map()
const windows = []
const sent = []
let menuTemplate = null
let quitCalls = 0
const protocols = { privileged: null, handlers: new Map() }
let readyCalled = false
const partitions = {}
const prints = []

class FakeApp extends EventEmitter {
  isPackaged = process.env.UNVEIL_FAKE_PACKAGED === '1'
  setName(name) {
    this.name = name
  }
  getName() {
    return this.name ?? 'fake'
  }
  getVersion() {
    return '0.0.0-fake'
  }
  enableSandbox() {
    this.sandboxed = true
  }
  requestSingleInstanceLock() {
    return true
  }
  whenReady() {
    readyCalled = true
    return Promise.resolve()
  }
  getPath(name) {
    if (name === 'userData') return join(home, 'userData')
    if (name === 'documents') return join(home, 'Documents')
    throw new Error(`fake getPath(${name})`)
  }
  quit() {
    quitCalls += 1
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true } }
    this.emit('before-quit', event)
    if (!event.defaultPrevented) this.emit('will-quit')
  }
  exit(code) {
    report.exitCode = code
    finish()
  }
}

export const app = new FakeApp()

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super()
    this.options = options
    this.loadedUrl = null
    this.destroyed = false
    this.webContents = Object.assign(new EventEmitter(), {
      send: (channel, payload) => sent.push({ channel, payload }),
      executeJavaScript: async (code) => {
        this.executed = code
      },
      printToPDF: (options) => printToPdf(this, options)
    })
    windows.push(this)
  }
  async loadURL(url) {
    this.loadedUrl = url
  }
  isDestroyed() {
    return this.destroyed
  }
  destroy() {
    this.destroyed = true
  }
  isMinimized() {
    return false
  }
  show() {}
  focus() {}
  restore() {}
}

export const ipcMain = {
  handle(channel, fn) {
    if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
    handlers.set(channel, fn)
  }
}

export const Menu = {
  buildFromTemplate(template) {
    return { template }
  },
  setApplicationMenu(menu) {
    menuTemplate = menu.template
  }
}

export const dialog = {
  async showOpenDialog() {
    const answer = dialogAnswers.shift()
    return answer ? { canceled: false, filePaths: [answer] } : { canceled: true, filePaths: [] }
  },
  showErrorBox(title, content) {
    report.errorBoxes.push(`${title}: ${content}`)
  },
  async showMessageBox() {
    return { response: 0 }
  }
}

function fakeSession(name) {
  const hooks = {}
  return {
    partition: name,
    hooks,
    setPermissionRequestHandler(fn) {
      hooks.permissionRequest = fn
    },
    setPermissionCheckHandler(fn) {
      hooks.permissionCheck = fn
    },
    webRequest: {
      onBeforeRequest(fn) {
        hooks.beforeRequest = fn
      },
      onHeadersReceived(fn) {
        hooks.headersReceived = fn
      }
    }
  }
}

export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    // Electron allows this only before ready, and only once.
    if (readyCalled || protocols.privileged) throw new Error('registerSchemesAsPrivileged must be called once, before ready')
    protocols.privileged = schemes
  },
  handle(scheme, fn) {
    if (!readyCalled) throw new Error('protocol.handle before ready')
    protocols.handlers.set(scheme, fn)
  }
}

export const session = {
  fromPartition(name) {
    partitions[name] ??= fakeSession(name)
    return partitions[name]
  },
  defaultSession: fakeSession('default')
}

const sessionHooks = session.defaultSession.hooks

// A Node child process in place of Electron's utility process: the same script, messages and exit.
export const utilityProcess = {
  fork(modulePath, args = [], options = {}) {
    const child = fork(modulePath, args, { env: options.env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
    const proc = new EventEmitter()
    child.on('message', (msg) => proc.emit('message', msg))
    child.on('exit', (code) => proc.emit('exit', code ?? 1))
    proc.postMessage = (msg) => child.send(msg)
    proc.kill = () => child.kill('SIGKILL')
    return proc
  }
}

export default { app, BrowserWindow, ipcMain, Menu, dialog, protocol, session, utilityProcess }

const report = { errorBoxes: [] }

function finish() {
  process.stdout.write(`FAKE_ELECTRON_REPORT ${JSON.stringify(report)}\n`)
  process.exit(0)
}

const callback = (fn, ...args) => new Promise((done) => fn(...args, done))

const PAGE_INCHES = { A4: [8.27, 11.7], Letter: [8.5, 11] }

async function printToPdf(win, options) {
  const prefs = win.options.webPreferences ?? {}
  const hook = prefs.session?.hooks.beforeRequest
  const cancelled = async (url) => (hook ? (await callback(hook, { url })).cancel : false)
  const record = {
    webPreferences: { ...prefs, session: prefs.session?.partition ?? null },
    show: win.options.show,
    url: win.loadedUrl,
    options,
    // The print session's request policy while this print runs.
    requests: { report: await cancelled(win.loadedUrl), dataImage: await cancelled('data:image/png;base64,AAAA'), remote: await cancelled('https://example.com/x.png'), otherFile: await cancelled('file:///etc/passwd') }
  }
  prints.push(record)
  if (record.requests.report) throw new Error('the print session refused the report file')
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: process.env.UNVEIL_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage({ javaScriptEnabled: prefs.javascript !== false })
    await page.goto(win.loadedUrl, { waitUntil: 'load' })
    const [w, h] = typeof options.pageSize === 'string' ? PAGE_INCHES[options.pageSize] : [options.pageSize.width / 25400, options.pageSize.height / 25400]
    const cdp = await page.context().newCDPSession(page)
    const { data } = await cdp.send('Page.printToPDF', {
      paperWidth: w,
      paperHeight: h,
      marginTop: options.margins?.top,
      marginBottom: options.margins?.bottom,
      marginLeft: options.margins?.left,
      marginRight: options.margins?.right,
      landscape: options.landscape,
      scale: options.scale,
      pageRanges: options.pageRanges,
      printBackground: options.printBackground,
      displayHeaderFooter: options.displayHeaderFooter,
      headerTemplate: options.headerTemplate,
      footerTemplate: options.footerTemplate,
      preferCSSPageSize: options.preferCSSPageSize,
      generateTaggedPDF: options.generateTaggedPDF,
      generateDocumentOutline: options.generateDocumentOutline
    })
    return Buffer.from(data, 'base64')
  } finally {
    await browser.close()
  }
}
const outcome = (p) =>
  Promise.resolve()
    .then(p)
    .then(
      (value) => ({ ok: true, value }),
      (err) => ({ ok: false, error: err.message })
    )

async function drive() {
  const t0 = Date.now()
  while (windows.length === 0 || handlers.size === 0) {
    if (Date.now() - t0 > 60_000) throw new Error('the main process opened no window within 60 s')
    await new Promise((r) => setTimeout(r, 50))
  }
  const win = windows[0]
  const entry = win.loadedUrl
  const frame = (url) => ({ senderFrame: url === null ? null : { url } })

  report.sandboxed = app.sandboxed === true
  report.isPackaged = app.isPackaged
  report.entryUrl = entry
  report.webPreferences = win.options.webPreferences
  report.channels = [...handlers.keys()]
  report.appInfo = await outcome(() => handlers.get('unveil:appInfo')(frame(`${entry}#/cases`)))
  report.foreignFrame = await outcome(() => handlers.get('unveil:listCases')(frame('https://evil.example/')))
  report.noFrame = await outcome(() => handlers.get('unveil:listCases')(frame(null)))
  report.badArgument = await outcome(() => handlers.get('unveil:getCase')(frame(entry), 42))

  report.permission = await callback(sessionHooks.permissionRequest, {}, 'media')
  report.permissionCheck = sessionHooks.permissionCheck({}, 'clipboard-read')
  const request = async (url) => (await callback(sessionHooks.beforeRequest, { url })).cancel
  report.requests = {
    entry: await request(entry),
    asset: await request(entry.replace(/index\.html$/, 'assets/index.js')),
    blob: await request('blob:app://unveil/0c1d'),
    remote: await request('https://example.com/x.js'),
    otherFile: await request('file:///etc/passwd'),
    builtFile: await request(`file://${process.cwd()}/out/renderer/index.html`)
  }

  report.privilegedSchemes = protocols.privileged
  report.protocolHandlers = [...protocols.handlers.keys()]
  const serve = async (url) => {
    const res = await protocols.handlers.get('app')({ url, method: 'GET' })
    return { status: res.status, type: res.headers.get('content-type'), csp: res.headers.get('content-security-policy'), body: res.status === 200 ? (await res.text()).slice(0, 2000) : null }
  }
  if (protocols.handlers.has('app')) {
    report.served = {
      index: await serve(entry),
      traversal: await serve('app://unveil/assets/..%2F..%2F..%2Fpackage.json'),
      missing: await serve('app://unveil/nope.js')
    }
  }

  // Folder grants: a path the renderer names is refused until the (fake) native dialog answered it.
  const call = (method, ...args) => outcome(() => handlers.get(`unveil:${method}`)(frame(entry), ...args))
  if (firstAnswer) {
    report.grants = {
      before: await call('createCase', { dir: join(firstAnswer, 'case'), name: 'Before the dialog' }),
      chosen: await call('chooseFolder', 'Choose the folder for the new case'),
      after: await call('createCase', { dir: join(firstAnswer, 'case'), name: 'After the dialog' }),
      elsewhere: await call('openCaseFolder', join(home, 'elsewhere'))
    }
  }
  const headers = await callback(sessionHooks.headersReceived, { responseHeaders: {} })
  report.cspHeader = headers.responseHeaders['Content-Security-Policy']

  const contents = Object.assign(new EventEmitter(), {
    setWindowOpenHandler(fn) {
      this.openHandler = fn
    }
  })
  app.emit('web-contents-created', {}, contents)
  const navigation = (url) => {
    let prevented = false
    contents.emit('will-navigate', { preventDefault: () => (prevented = true) }, url)
    return prevented
  }
  const redirect = (url) => {
    let prevented = false
    contents.emit('will-redirect', { preventDefault: () => (prevented = true) }, url)
    return prevented
  }
  report.navigationBlocked = {
    app: navigation(`${entry}#/models`),
    remote: navigation('https://example.com/'),
    file: navigation(`file://${process.cwd()}/out/renderer/index.html`),
    redirect: redirect('https://example.com/')
  }
  report.windowOpen = contents.openHandler({ url: 'https://example.com/' })
  let webviewPrevented = false
  contents.emit('will-attach-webview', { preventDefault: () => (webviewPrevented = true) })
  report.webviewBlocked = webviewPrevented

  report.menu = menuTemplate.map((m) => m.label ?? m.role)
  report.fileMenu = menuTemplate.find((m) => m.label === 'File').submenu.map((i) => i.label ?? i.role ?? i.type)
  menuTemplate.find((m) => m.label === 'File').submenu[0].click()
  report.newCaseNavigation = win.executed ?? null
  if (firstAnswer) {
    // File > Open case folder…: the dialog's second answer goes through the same grant.
    menuTemplate.find((m) => m.label === 'File').submenu[1].click()
    const t2 = Date.now()
    while (win.executed === report.newCaseNavigation && report.errorBoxes.length === 0 && Date.now() - t2 < 30_000) await new Promise((r) => setTimeout(r, 20))
    report.openCaseNavigation = win.executed
  }

  // A report of the case the test prepared, through the IPC channel the Export button uses.
  const printCase = process.env.UNVEIL_FAKE_PRINT_CASE
  if (printCase) {
    // The report folder is granted the way the Export button gets it: through the folder dialog.
    const dir = await handlers.get('unveil:chooseFolder')(frame(entry), 'Export report to')
    report.reportExport = await outcome(() => handlers.get('unveil:exportReport')(frame(entry), { caseId: printCase, dir, runIds: null, evaluationId: null }))
    report.prints = prints
    report.printWindowsLeft = windows.filter((w) => w !== win && !w.destroyed).length
  }

  // Time for worker threads main started to run (what they do may be what a test checks).
  await new Promise((r) => setTimeout(r, Number(process.env.UNVEIL_FAKE_SETTLE_MS ?? 0)))
  // Quit: main must close the workbench first, then quit for real.
  app.quit()
  const t1 = Date.now()
  while (quitCalls < 2 && Date.now() - t1 < 30_000) await new Promise((r) => setTimeout(r, 20))
  report.quitCalls = quitCalls
  finish()
}

drive().catch((err) => {
  report.driverError = err.stack ?? String(err)
  finish()
})
