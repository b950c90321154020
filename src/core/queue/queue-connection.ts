import { Redis, type RedisOptions } from 'ioredis'
import { ValidationError } from '../../shared/validation'

/** How long a queue URL may take to answer before it is reported as unreachable. */
const PROBE_TIMEOUT_MS = 3000

export interface QueueAddress {
  /** The URL as given, for connecting. */
  url: string
  /** The URL without a password, for messages, logs and the UI. */
  display: string
}

/** Checks a `redis://HOST:PORT[/DB]` (or `rediss://`) URL; a bad one is refused in one line. */
export function parseQueueUrl(url: unknown): QueueAddress {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048) throw new ValidationError('queue URL must be redis://HOST:PORT')
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ValidationError(`queue URL ${JSON.stringify(url.slice(0, 200))} is not a URL; expected redis://HOST:PORT`)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ValidationError(`queue URL must start with redis:// or rediss://, got ${u.protocol}//`)
  if (!u.hostname) throw new ValidationError('queue URL has no host; expected redis://HOST:PORT')
  if (u.pathname && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) throw new ValidationError(`queue URL path must be a database number (/0 … /15), got ${u.pathname}`)
  const display = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname === '/' ? '' : u.pathname}`
  return { url, display }
}

/**
 * Connection options for BullMQ's long-lived connections: commands wait for a reconnect rather
 * than failing (BullMQ requires maxRetriesPerRequest null), so a Redis restart is survived.
 */
export function connectionOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, connectTimeout: PROBE_TIMEOUT_MS }
}

/**
 * Connects once, without retries, and pings: an address that does not answer is a one-line
 * error within a few seconds instead of ioredis reconnecting forever.
 */
export async function probeQueue(address: QueueAddress): Promise<void> {
  const redis = new Redis(address.url, { lazyConnect: true, connectTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  // The socket's error (ECONNREFUSED, ENOTFOUND) comes as an event; connect() only says the connection closed.
  let cause: NodeJS.ErrnoException | null = null
  redis.on('error', (err: NodeJS.ErrnoException) => (cause ??= err))
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      (async () => {
        await redis.connect()
        await redis.ping()
      })(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS)))
    ])
  } catch (err) {
    const e = cause ?? (err as NodeJS.ErrnoException)
    throw new ValidationError(`queue ${address.display} does not answer: ${(e.code ?? e.message ?? String(err)).split('\n')[0]}`)
  } finally {
    clearTimeout(timer)
    redis.disconnect()
  }
}
