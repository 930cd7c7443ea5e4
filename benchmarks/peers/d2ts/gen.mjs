#!/usr/bin/env node
// Tiny input generator for testing the d2ts peer without rhizoflow: writes
// DIR/meta.json and the update files of benchmarks/WORKLOADS.md for one
// workload. Same shapes as `rhizoflow bench WORKLOAD --write-inputs DIR`, but a
// different random stream (mulberry32), so its files are for testing only.
//
//   node gen.mjs bfs|degrees|cc DIR [--nodes N] [--edges M] [--batch B] [--rounds R]
//   node gen.mjs groupby DIR [--keys K] [--initial I] [--updates U] [--batch B]
//   node gen.mjs join DIR [--keys K] [--window W] [--batch B] [--rounds R]
//   common: [--seed S] [--times-per-round T]
import fs from 'node:fs'
import path from 'node:path'

function usage(msg) {
  if (msg) process.stderr.write(`gen.mjs: ${msg}\n`)
  process.stderr.write('usage: node gen.mjs WORKLOAD DIR [--nodes N] [--edges M] [--batch B] [--rounds R] [--keys K] [--window W] [--initial I] [--updates U] [--seed S] [--times-per-round T]\n')
  process.exit(2)
}

const argv = process.argv.slice(2)
if (argv.length < 2) usage()
const [workload, dir] = argv
const opt = {}
for (let i = 2; i < argv.length; i += 2) {
  const k = argv[i]
  if (!k.startsWith('--') || i + 1 >= argv.length) usage(`bad option ${k}`)
  const n = Number(argv[i + 1])
  if (!Number.isSafeInteger(n) || n < 0) usage(`bad value for ${k}`)
  opt[k.slice(2).replace(/-/g, '_')] = n
}
const seed = opt.seed ?? 1

// mulberry32, two draws per uniform integer below 2^53
let s = (seed >>> 0) ^ 0x9e3779b9
function u32() {
  s = (s + 0x6d2b79f5) >>> 0
  let t = s
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return (t ^ (t >>> 14)) >>> 0
}
function below(n) {
  const r = (u32() * 4294967296 + u32()) / 18446744073709551616
  return Math.floor(r * n)
}

fs.mkdirSync(dir, { recursive: true })
const T = opt.times_per_round ?? 1

function writeLines(file, lines) {
  fs.writeFileSync(path.join(dir, file), lines.length ? lines.join('\n') + '\n' : '')
}

if (workload === 'bfs' || workload === 'degrees' || workload === 'cc') {
  const N = opt.nodes ?? 1000, M = opt.edges ?? 10 * N, B = opt.batch ?? 10, R = opt.rounds ?? 5
  const window = [] // queue of present edges, oldest first
  let head = 0
  const init = []
  for (let i = 0; i < M; i++) {
    const e = [below(N), below(N)]
    window.push(e)
    init.push(`${e[0]} ${e[1]}`)
  }
  const upd = []
  for (let r = 1; r <= R; r++) {
    for (let b = 0; b < B; b++) {
      const e = [below(N), below(N)]
      window.push(e)
      const old = window[head++]
      upd.push(`${r} +1 ${e[0]} ${e[1]}`, `${r} -1 ${old[0]} ${old[1]}`)
    }
  }
  writeLines('edges.txt', init)
  writeLines('updates.txt', upd)
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ workload, nodes: N, edges: M, batch: B, rounds: R, times_per_round: T, seed, generator: 'd2ts-gen' }) + '\n')
} else if (workload === 'groupby') {
  const K = opt.keys ?? 1000, I = opt.initial ?? K, U = opt.updates ?? 10000, B = opt.batch ?? 1000
  const rows = [] // present rows, removal swaps with the last
  const lines = []
  for (let i = 0; i < I; i++) {
    const row = [below(K), below(1000000)]
    rows.push(row)
    lines.push(`0 +1 ${row[0]} ${row[1]}`)
  }
  for (let u = 0; u < U; u++) {
    const r = 1 + Math.floor(u / B)
    if (rows.length === 0 || below(2) === 0) {
      const row = [below(K), below(1000000)]
      rows.push(row)
      lines.push(`${r} +1 ${row[0]} ${row[1]}`)
    } else {
      const i = below(rows.length)
      const row = rows[i]
      rows[i] = rows[rows.length - 1]
      rows.pop()
      lines.push(`${r} -1 ${row[0]} ${row[1]}`)
    }
  }
  writeLines('updates.txt', lines)
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ workload, keys: K, initial: I, updates: U, batch: B, rounds: Math.ceil(U / B), times_per_round: T, seed, generator: 'd2ts-gen' }) + '\n')
} else if (workload === 'join') {
  const K = opt.keys ?? 1000, W = opt.window ?? 10000, B = opt.batch ?? 100, R = opt.rounds ?? 5
  for (const file of ['left.txt', 'right.txt']) {
    const win = []
    let head = 0
    const lines = []
    for (let i = 0; i < W; i++) {
      const row = [below(K), below(1000000)]
      win.push(row)
      lines.push(`0 +1 ${row[0]} ${row[1]}`)
    }
    for (let r = 1; r <= R; r++) {
      for (let b = 0; b < B; b++) {
        const row = [below(K), below(1000000)]
        win.push(row)
        const old = win[head++]
        lines.push(`${r} +1 ${row[0]} ${row[1]}`, `${r} -1 ${old[0]} ${old[1]}`)
      }
    }
    writeLines(file, lines)
  }
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ workload, keys: K, window: W, batch: B, rounds: R, times_per_round: T, seed, generator: 'd2ts-gen' }) + '\n')
} else {
  usage(`unknown workload ${workload}`)
}
