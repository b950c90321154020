// Electron main process: a hardened window onto the renderer, and the IPC table that routes the
// renderer's UnveilApi calls to the handlers in ./api-handlers (which validate and call core).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session, type IpcMainInvokeEvent } from 'electron'
import { API_METHODS, JOB_PROGRESS_CHANNEL, channelFor, type ApiHandlers } from '../shared/ipc-contract'
import { Workbench, defaultLibraryDir } from '../core/workbench/workbench'
import { createApiHandlers } from './api-handlers'
import { contentSecurityPolicy, createAppOrigin, isAllowedRequest } from './app-origin'
import { createElectronReportPrinter } from './electron-report-printer'
import { buildApplicationMenu } from './menu'
import { utilityHost } from './utility-host'
import { dropCodePathEnv } from './packaged-env'
import { APP_SCHEME, rendererProtocolHandler } from './renderer-protocol'

// Before anything reads them (the workbench, the worker, the window's URL below).
if (app.isPackaged) {
  const dropped = dropCodePathEnv(process.env)
  if (dropped.length > 0) console.warn(`Unveil: the packaged app ignores ${dropped.join(', ')}`)
}

const here = dirname(fileURLToPath(import.meta.url))
const rendererDir = join(here, '../renderer')
const origin = createAppOrigin(process.env.ELECTRON_RENDERER_URL || undefined)

// Standard + secure: a real origin ('self' in the CSP, relative URLs), treated like https.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])

app.setName('Unveil')
app.enableSandbox()

let mainWindow: BrowserWindow | null = null
let workbench: Workbench | null = null
let closing: Promise<void> | null = null

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'Unveil',
    backgroundColor: '#f4f5f7',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: !app.isPackaged
    }
  })
  win.once('ready-to-show', () => win.show())
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null
  })
  void win.loadURL(origin.entryUrl)
  return win
}

/** Moves the renderer to a route; location.hash changes are picked up by vue-router's hash history. */
function navigate(route: string): void {
  const win = mainWindow
  if (!win || win.isDestroyed()) return
  void win.webContents.executeJavaScript(`location.hash = ${JSON.stringify('#' + route)}`)
}

function harden(): void {
  const ses = session.defaultSession
  // Nothing in the app needs camera, notifications, geolocation, ... : refuse everything.
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  ses.setPermissionCheckHandler(() => false)
  // No remote content: only the app's own files (or the dev server) and in-memory blobs load.
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url, origin) }))
  // The same policy as index.html's meta tag, as a header: set by the app:// handler on its own
  // responses, and added to every other response that has headers (the dev server's).
  const csp = contentSecurityPolicy(origin.devServerOrigin)
  if (!origin.devServerOrigin) protocol.handle(APP_SCHEME, rendererProtocolHandler(rendererDir, csp))
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } })
  })

  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!origin.isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!origin.isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    // The app never needs a second window; links to elsewhere must not open one.
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
}

async function chooseFolder(title: string): Promise<string | null> {
  const options: Electron.OpenDialogOptions = { title, properties: ['openDirectory', 'createDirectory'] }
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options)
  return result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0]
}

function registerIpc(bench: Workbench, handlers: ApiHandlers): void {
  for (const method of API_METHODS) {
    ipcMain.handle(channelFor(method), (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      if (!origin.isAppUrl(event.senderFrame?.url)) {
        throw new Error(`IPC call '${method}' refused: it did not come from the Unveil window`)
      }
      return handlers[method](...args)
    })
  }
  bench.runs.onProgress((progress) => {
    const win = mainWindow
    if (win && !win.isDestroyed()) win.webContents.send(JOB_PROGRESS_CHANNEL, progress)
  })
}

async function openCaseFolderFromMenu(handlers: ApiHandlers): Promise<void> {
  // Through the handler, so the folder picked here is granted like one picked in the renderer.
  const dir = await handlers.chooseFolder('Open case folder')
  if (!dir) return
  try {
    const info = await handlers.openCaseFolder(dir)
    navigate(`/cases/${encodeURIComponent(info.id)}`)
  } catch (err) {
    dialog.showErrorBox('Could not open case folder', err instanceof Error ? err.message : String(err))
  }
}

function showAbout(): void {
  const detail = [
    `Version ${app.getVersion()}`,
    `Electron ${process.versions.electron}, Chromium ${process.versions.chrome}, Node ${process.versions.node}`,
    `Library: ${app.getPath('userData')}`,
    '',
    'Forensic workbench for face-template inversion.'
  ].join('\n')
  const options: Electron.MessageBoxOptions = { type: 'info', title: 'About Unveil', message: 'Unveil', detail, buttons: ['OK'] }
  if (mainWindow) void dialog.showMessageBox(mainWindow, options)
  else void dialog.showMessageBox(options)
}

async function start(): Promise<void> {
  harden()
  try {
    workbench = await Workbench.open({
      // The CLI's folder, not Electron's userData (which follows the packaged product name),
      // so the app and `unveil` share one model registry and case list.
      libraryDir: defaultLibraryDir(),
      caseRoot: process.env.UNVEIL_CASE_ROOT || join(app.getPath('documents'), 'Unveil cases'),
      // Reports print with Electron's Chromium, not a second browser.
      reportPrinter: createElectronReportPrinter(),
      isolatedHost: utilityHost
    })
  } catch (err) {
    dialog.showErrorBox('Unveil could not start', err instanceof Error ? (err.stack ?? err.message) : String(err))
    app.exit(1)
    return
  }
  const bench = workbench
  const handlers = createApiHandlers({ workbench: bench, chooseFolder })
  registerIpc(bench, handlers)
  Menu.setApplicationMenu(
    buildApplicationMenu(
      {
        newCase: () => navigate('/cases?new=1'),
        openCaseFolder: () => void openCaseFolderFromMenu(handlers),
        startDemo: () => navigate('/demo?start=1'),
        about: showAbout
      },
      !app.isPackaged
    )
  )
  mainWindow = createWindow()
  app.on('activate', () => {
    if (!mainWindow) mainWindow = createWindow()
  })
}

if (!app.requestSingleInstanceLock()) {
  // Case stores are SQLite files with one writer: a second instance only focuses the first.
  app.quit()
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  app.on('before-quit', (event) => {
    const bench = workbench
    if (!bench) return
    // Let running jobs stop and stores close before the process goes away.
    event.preventDefault()
    closing ??= bench
      .close()
      .catch((err: unknown) => console.error('Unveil: closing the workbench failed', err))
      .finally(() => {
        workbench = null
        app.quit()
      })
  })
  void app.whenReady().then(start)
}
