import { Menu, app, type MenuItemConstructorOptions } from 'electron'

export interface MenuActions {
  newCase(): void
  openCaseFolder(): void
  startDemo(): void
  about(): void
}

export function buildApplicationMenu(actions: MenuActions, devTools: boolean): Menu {
  const isMac = process.platform === 'darwin'
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New case…', accelerator: 'CmdOrCtrl+N', click: () => actions.newCase() },
        { label: 'Open case folder…', accelerator: 'CmdOrCtrl+O', click: () => actions.openCaseFolder() },
        { label: 'Start demo', click: () => actions.startDemo() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit', label: 'Quit' }
      ]
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(devTools ? [{ role: 'toggleDevTools' as const }] : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' }
      ]
    },
    {
      role: 'help',
      submenu: [{ label: `About ${app.getName()}`, click: () => actions.about() }]
    }
  ]
  return Menu.buildFromTemplate(template)
}
