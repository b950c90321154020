// Errors from the main process arrive as "Error invoking remote method 'unveil:x': Error: <msg>";
// analysts need <msg> exactly as core wrote it, without the transport's wrapping.
const IPC_PREFIX = /^Error invoking remote method '[^']*':\s*/
const ERROR_NAME = /^[A-Za-z]*Error:\s*/

export function errorMessage(err: unknown): string {
  let message: string
  if (err instanceof Error) message = err.message
  else if (typeof err === 'string') message = err
  else if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    message = (err as { message: string }).message
  } else message = String(err)
  if (IPC_PREFIX.test(message)) message = message.replace(IPC_PREFIX, '').replace(ERROR_NAME, '')
  message = message.trim()
  return message === '' ? 'Unknown error' : message
}
