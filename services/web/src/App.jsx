import { useCallback, useEffect, useState } from 'react'
import { api } from './api.js'

const POLL_MS = 3000

export default function App() {
  const [version, setVersion] = useState(null)
  const [items, setItems] = useState([])
  const [total, setTotal] = useState(0)
  const [outage, setOutage] = useState(null)
  const [formError, setFormError] = useState(null)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)

  const fail = useCallback((err) => {
    if (err.outage) setOutage(err.message)
    else setFormError(err.message)
  }, [])

  const refresh = useCallback(async () => {
    try {
      const [v, page] = await Promise.all([api.version(), api.listItems()])
      setVersion(v)
      setItems(page.items)
      setTotal(page.total)
      setOutage(null)
    } catch (err) {
      fail(err)
    }
  }, [fail])

  useEffect(() => {
    refresh()
    const timer = setInterval(refresh, POLL_MS)
    return () => clearInterval(timer)
  }, [refresh])

  async function add(event) {
    event.preventDefault()
    setFormError(null)
    setBusy(true)
    try {
      await api.createItem(name)
      setName('')
      await refresh()
    } catch (err) {
      fail(err)
    } finally {
      setBusy(false)
    }
  }

  async function remove(id) {
    setFormError(null)
    try {
      await api.deleteItem(id)
      await refresh()
    } catch (err) {
      fail(err)
    }
  }

  const colour = version ? version.colour : 'unknown'
  return (
    <main className={`app colour-${colour}`}>
      <header>
        <h1>seed.fargate</h1>
        <p className="version" data-testid="version">
          {version ? (
            <>
              API <strong data-testid="version-number">{version.version}</strong>{' '}
              (<code>{version.commit}</code>) —{' '}
              <span className={`badge badge-${colour}`} data-testid="colour">{colour}</span>{' '}
              on <code data-testid="host">{version.task_id || version.host}</code>
            </>
          ) : (
            'Connecting to the API…'
          )}
        </p>
      </header>

      {outage && (
        <div className="outage" role="alert" data-testid="outage">
          <strong>The API is unavailable.</strong> Showing the last data received;
          retrying every {POLL_MS / 1000}s. <small className="detail">({outage})</small>
        </div>
      )}

      <section>
        <h2>Items ({total})</h2>
        <form onSubmit={add} className="add">
          <label htmlFor="new-item">New item</label>
          <input
            id="new-item"
            data-testid="new-item"
            value={name}
            maxLength={100}
            placeholder="Name"
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" data-testid="add" disabled={busy || !name.trim()}>
            Add
          </button>
        </form>
        {formError && (
          <p className="form-error" role="alert" data-testid="form-error">
            {formError}
          </p>
        )}
        <ul data-testid="items">
          {items.map((item) => (
            <li key={item.id} data-testid="item">
              <span className="item-name">{item.name}</span>
              <button
                type="button"
                aria-label={`Remove ${item.name}`}
                data-testid={`remove-${item.id}`}
                onClick={() => remove(item.id)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
        {items.length === 0 && !outage && <p className="empty">No items yet.</p>}
      </section>
      <footer>Items are stored in memory in each API task.</footer>
    </main>
  )
}
