#!/usr/bin/env node
// Independent plain computation of the WORKLOADS.md checksums, for testing the
// d2ts peer: replays DIR's input files round by round with ordinary maps (a
// textbook BFS, union-find components, hash-map group-bys) and prints one
// JSON line per round with the checksum fields. With --against FILE (the JSON
// lines of a run), compares every round's checksum fields and exits 1 on the
// first difference.
//
//   node check.mjs WORKLOAD DIR [--rounds R] [--against FILE]
import fs from 'node:fs'
import path from 'node:path'

const argv = process.argv.slice(2)
let workload, dir, rounds = Infinity, against = null
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--rounds') rounds = Number(argv[++i])
  else if (argv[i] === '--against') against = argv[++i]
  else if (!workload) workload = argv[i]
  else dir = argv[i]
}
if (!workload || !dir) {
  process.stderr.write('usage: node check.mjs WORKLOAD DIR [--rounds R] [--against FILE]\n')
  process.exit(2)
}

function lines(file) {
  return fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.trim().split(/\s+/).map(Number))
}
function byRound(rows) {
  const m = new Map()
  for (const row of rows) {
    if (!m.has(row[0])) m.set(row[0], [])
    m.get(row[0]).push(row)
  }
  return m
}

const results = []
function multisetAdd(m, k, d) {
  const c = (m.get(k) || 0) + d
  if (c < 0) throw new Error(`negative multiplicity for ${k}`)
  if (c === 0) m.delete(k)
  else m.set(k, c)
}

if (['bfs', 'degrees', 'cc'].includes(workload)) {
  const edges = new Map() // "s d" -> copies
  for (const [s, d] of lines('edges.txt')) multisetAdd(edges, `${s} ${d}`, 1)
  const upd = byRound(lines('updates.txt'))
  const maxR = Math.min(rounds, Math.max(0, ...upd.keys()))
  for (let r = 0; r <= maxR; r++) {
    for (const [, diff, s, d] of upd.get(r) || []) multisetAdd(edges, `${s} ${d}`, diff)
    const list = [...edges.keys()].map((k) => k.split(' ').map(Number))
    if (workload === 'bfs') {
      const adj = new Map()
      for (const [s, d] of list) {
        if (!adj.has(s)) adj.set(s, [])
        adj.get(s).push(d)
      }
      const dist = new Map([[0, 0]])
      let frontier = [0]
      let sum = 0
      for (let level = 1; frontier.length; level++) {
        const nextF = []
        for (const u of frontier) for (const v of adj.get(u) || []) if (!dist.has(v)) { dist.set(v, level); sum += level; nextF.push(v) }
        frontier = nextF
      }
      results.push({ round: r, reachable: dist.size, distance_sum: sum })
    } else if (workload === 'degrees') {
      const deg = new Map()
      for (const [k, c] of edges) {
        const s = Number(k.split(' ')[0])
        deg.set(s, (deg.get(s) || 0) + c)
      }
      const hist = new Map()
      for (const d of deg.values()) hist.set(d, (hist.get(d) || 0) + 1)
      let nodes = 0, maxD = 0, sq = 0
      for (const [d, n] of hist) { nodes += n; maxD = Math.max(maxD, d); sq += n * d * d }
      results.push({ round: r, nodes, distinct_degrees: hist.size, max_degree: maxD, degree_sq_sum: sq })
    } else {
      const parent = new Map()
      const find = (x) => {
        let root = x
        while (parent.get(root) !== root) root = parent.get(root)
        while (parent.get(x) !== root) { const p = parent.get(x); parent.set(x, root); x = p }
        return root
      }
      for (const [s, d] of list) {
        if (!parent.has(s)) parent.set(s, s)
        if (!parent.has(d)) parent.set(d, d)
        const a = find(s), b = find(d)
        if (a !== b) parent.set(Math.max(a, b), Math.min(a, b)) // the root is the smallest id
      }
      const labels = new Set()
      let sum = 0
      for (const n of parent.keys()) { const l = find(n); labels.add(l); sum += l }
      results.push({ round: r, nodes: parent.size, components: labels.size, label_sum: sum })
    }
  }
} else if (workload === 'groupby') {
  const upd = byRound(lines('updates.txt'))
  const rows = new Map() // key -> Map(value -> copies)
  const maxR = Math.min(rounds, Math.max(0, ...upd.keys()))
  for (let r = 0; r <= maxR; r++) {
    for (const [, diff, k, v] of upd.get(r) || []) {
      if (!rows.has(k)) rows.set(k, new Map())
      multisetAdd(rows.get(k), v, diff)
      if (rows.get(k).size === 0) rows.delete(k)
    }
    const o = { round: r, keys: rows.size, count: 0, sum: 0, min_sum: 0, max_sum: 0 }
    for (const vals of rows.values()) {
      let mn = Infinity, mx = -Infinity
      for (const [v, c] of vals) { o.count += c; o.sum += v * c; mn = Math.min(mn, v); mx = Math.max(mx, v) }
      o.min_sum += mn
      o.max_sum += mx
    }
    results.push(o)
  }
} else if (workload === 'join') {
  const l = byRound(lines('left.txt')), rt = byRound(lines('right.txt'))
  const lc = new Map(), rc = new Map()
  const maxR = Math.min(rounds, Math.max(0, ...l.keys(), ...rt.keys()))
  for (let r = 0; r <= maxR; r++) {
    for (const [, diff, k] of l.get(r) || []) multisetAdd(lc, k, diff)
    for (const [, diff, k] of rt.get(r) || []) multisetAdd(rc, k, diff)
    const o = { round: r, keys: 0, pairs: 0, pairs_sq_sum: 0 }
    for (const [k, a] of lc) {
      const b = rc.get(k)
      if (!b) continue
      o.keys++
      o.pairs += a * b
      o.pairs_sq_sum += a * b * a * b
    }
    results.push(o)
  }
} else {
  process.stderr.write(`unknown workload ${workload}\n`)
  process.exit(2)
}

if (!against) {
  for (const o of results) process.stdout.write(JSON.stringify(o) + '\n')
} else {
  const got = fs.readFileSync(against, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((o) => !o.summary)
  if (got.length !== results.length) {
    process.stderr.write(`check: ${got.length} rounds in ${against}, expected ${results.length}\n`)
    process.exit(1)
  }
  for (let i = 0; i < results.length; i++) {
    for (const [k, v] of Object.entries(results[i])) {
      if (got[i][k] !== v) {
        process.stderr.write(`check: round ${i}: ${k} = ${got[i][k]}, expected ${v}\n`)
        process.exit(1)
      }
    }
  }
  process.stderr.write(`check: ${workload}: all ${results.length} rounds agree\n`)
}
