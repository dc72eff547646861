import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// `npm run dev` proxies /api to a local API (API_UPSTREAM, default 127.0.0.1:8000).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', assetsDir: 'assets', sourcemap: false },
  server: {
    proxy: { '/api': `http://${process.env.API_UPSTREAM || '127.0.0.1:8000'}` },
  },
})
