// Baseline for the services benchmark: serves the same GET /api/items JSON
// document as the Bottle API (read from ITEMS_FILE), plus /api/health.
'use strict'
const fs = require('node:fs')
const express = require('express')

const port = Number(process.env.PORT || 8100)
const page = JSON.parse(fs.readFileSync(process.env.ITEMS_FILE, 'utf8'))
const app = express()
app.disable('x-powered-by')
app.get('/api/health', (req, res) => res.json({ status: 'ok' }))
app.get('/api/items', (req, res) => {
  res.set('X-Request-ID', req.get('X-Request-ID') || '')
  res.json(page)
})
app.listen(port, '127.0.0.1', () => console.log(`express listening on ${port}`))
