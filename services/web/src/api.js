// Thin client for the API behind nginx's /api/ proxy.
// Every failure becomes an ApiError; `outage` is true when the API could not
// be reached or answered 502/503/504 (nginx's "upstream down" answers).

export class ApiError extends Error {
  constructor(message, { status = 0, outage = false, code = 'network_error' } = {}) {
    super(message)
    this.status = status
    this.outage = outage
    this.code = code
  }
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let res
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    })
  } catch (err) {
    throw new ApiError(`API unreachable: ${err.message}`, { outage: true })
  }
  if (res.status === 204) return null
  let data = null
  try {
    data = await res.json()
  } catch {
    data = null
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {}
    throw new ApiError(e.message || `HTTP ${res.status}`, {
      status: res.status,
      code: e.code || 'http_error',
      outage: res.status >= 500 || data === null,
    })
  }
  return data
}

export const api = {
  version: () => request('GET', '/api/version'),
  listItems: (limit = 100) => request('GET', `/api/items?limit=${limit}`),
  createItem: (name, description = '') =>
    request('POST', '/api/items', { name, description }),
  deleteItem: (id) => request('DELETE', `/api/items/${id}`),
}
