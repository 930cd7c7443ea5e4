// d2ts peer for the rhizoflow benchmark suite: runs one workload of
// benchmarks/WORKLOADS.md as a dataflow of @electric-sql/d2ts, round by round,
// on the input files of `rhizoflow bench WORKLOAD --write-inputs DIR`, and
// prints the WORKLOADS.md JSON lines (one per round, then a summary).
//
//   node runner.mjs WORKLOAD DIR [--rounds R] [--times-per-round T] [--versions-at-once]
//                   [--groupby-builtin] [--stock]
//
// Use the `run` script beside this file: it installs d2ts (npm ci) first.
//
// Exit codes: 0 ok, 2 usage or input error, 3 d2ts failed: it threw, its
// output was inconsistent (e.g. a key with two values) or it did not complete
// a round. (4, for a workload d2ts cannot express, is not needed: all five
// are expressed.)
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

const WORKLOADS = ['bfs', 'degrees', 'cc', 'groupby', 'join']

function fail(code, msg) {
  process.stderr.write(`d2ts peer: ${msg}\n`)
  process.exit(code)
}

function usage(msg) {
  fail(2, `${msg ? msg + '\n' : ''}usage: run WORKLOAD DIR [--rounds R] [--times-per-round T] [--versions-at-once] [--groupby-builtin] [--stock]\n` +
    `  WORKLOAD: ${WORKLOADS.join(', ')}; DIR: written by rhizoflow bench WORKLOAD --write-inputs DIR`)
}

// ---------------------------------------------------------------- arguments

const args = process.argv.slice(2)
let workload = null, dir = null, maxRounds = null, tprOverride = null, groupbyBuiltin = false, stock = false, atOnce = false
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  const intArg = () => {
    const s = args[++i]
    if (s === undefined || !/^\d+$/.test(s)) usage(`${a} needs a non-negative integer`)
    return Number(s)
  }
  if (a === '--rounds') maxRounds = intArg()
  else if (a === '--times-per-round') { tprOverride = intArg(); if (tprOverride < 1) usage('--times-per-round must be >= 1') }
  else if (a === '--groupby-builtin') groupbyBuiltin = true
  else if (a === '--stock') stock = true
  else if (a === '--versions-at-once') atOnce = true
  else if (a === '-h' || a === '--help') usage()
  else if (a.startsWith('-')) usage(`unknown option ${a}`)
  else if (workload === null) workload = a
  else if (dir === null) dir = a
  else usage(`unexpected argument ${a}`)
}
if (!workload || !dir) usage()
if (!WORKLOADS.includes(workload)) usage(`unknown workload ${workload}`)
if (groupbyBuiltin && workload !== 'groupby') usage('--groupby-builtin applies to groupby only')

// d2ts: the copy with the four fixes of patch-d2ts.mjs (made by the run
// script), or with --stock the package as published
const here = path.dirname(fileURLToPath(import.meta.url))
const patched = path.join(here, 'node_modules', '.d2ts-patched', 'dist', 'index.js')
if (!stock && !fs.existsSync(patched)) fail(2, `${patched} is missing: start the peer with its run script (or run node patch-d2ts.mjs)`)
const {
  D2,
  MultiSet,
  MessageType,
  map,
  filter,
  concat,
  join,
  reduce,
  count,
  distinct,
  consolidate,
  iterate,
  output,
  groupBy,
  groupByOperators,
} = await import(stock ? '@electric-sql/d2ts' : pathToFileURL(patched).href)

// ---------------------------------------------------------------- input files

const tLoad0 = performance.now()

let meta
try {
  meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'))
} catch (e) {
  fail(2, `${path.join(dir, 'meta.json')}: ${e.message}`)
}
if (meta.workload !== undefined && meta.workload !== workload)
  fail(2, `${path.join(dir, 'meta.json')}: workload is ${JSON.stringify(meta.workload)}, not ${workload}`)
const timesPerRound = tprOverride ?? (Number.isSafeInteger(meta.times_per_round) && meta.times_per_round >= 1 ? meta.times_per_round : 1)

// Reads a file of `ncols` whitespace-separated decimal integers per line into
// Float64Array columns. Column `signed` (or -1) may carry a + or - sign and
// must be +1 or -1 (a diff); all others are non-negative and below 2^53 (d2ts
// works on JavaScript numbers; WORKLOADS.md allows up to 2^62, so larger ids
// are refused rather than silently rounded).
function readColumns(file, ncols, signed) {
  let buf
  try {
    buf = fs.readFileSync(file)
  } catch (e) {
    fail(2, `${file}: ${e.message}`)
  }
  let lines = 0
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++
  if (buf.length && buf[buf.length - 1] !== 10) lines++
  const cols = []
  for (let c = 0; c < ncols; c++) cols.push(new Float64Array(lines))
  let n = 0, pos = 0, lineNo = 0
  const len = buf.length
  while (pos < len) {
    lineNo++
    let c = 0
    // parse one line
    for (;;) {
      while (pos < len && (buf[pos] === 32 || buf[pos] === 9 || buf[pos] === 13)) pos++
      if (pos >= len || buf[pos] === 10) break
      if (c >= ncols) fail(2, `${file}:${lineNo}: more than ${ncols} numbers on the line`)
      let neg = false
      if (buf[pos] === 43 || buf[pos] === 45) {
        if (c !== signed) fail(2, `${file}:${lineNo}: column ${c + 1} must be unsigned`)
        neg = buf[pos] === 45
        pos++
      }
      let v = 0, digits = 0
      const start = pos
      while (pos < len && buf[pos] >= 48 && buf[pos] <= 57) {
        v = v * 10 + (buf[pos] - 48)
        pos++
        digits++
      }
      if (digits === 0 || (pos < len && buf[pos] !== 32 && buf[pos] !== 9 && buf[pos] !== 13 && buf[pos] !== 10))
        fail(2, `${file}:${lineNo}: column ${c + 1} is not a decimal integer`)
      if (!Number.isSafeInteger(v))
        fail(2, `${file}:${lineNo}: column ${c + 1}: ${buf.toString('latin1', start, pos)} is 2^53 or more, which d2ts (JavaScript numbers) cannot hold exactly`)
      if (neg) v = -v
      if (c === signed && v !== 1 && v !== -1) fail(2, `${file}:${lineNo}: the diff must be +1 or -1`)
      cols[c][n] = v
      c++
    }
    if (pos < len) pos++ // the newline
    if (c === 0) continue // blank line
    if (c !== ncols) fail(2, `${file}:${lineNo}: expected ${ncols} numbers, found ${c}`)
    n++
  }
  return { n, cols: cols.map((col) => col.subarray(0, n)), file }
}

// Update file `round diff a b`: rounds must not decrease; returns the index of
// each round's first line (start[r] .. start[r+1]).
function roundIndex(f, firstRound) {
  const [rounds] = f.cols
  let last = firstRound
  for (let i = 0; i < f.n; i++) {
    const r = rounds[i]
    if (r < firstRound) fail(2, `${f.file}:${i + 1}: round ${r} (rounds in this file start at ${firstRound})`)
    if (r < last) fail(2, `${f.file}:${i + 1}: round ${r} after round ${last} (lines must be in round order)`)
    last = r
  }
  const maxR = f.n ? rounds[f.n - 1] : firstRound
  const start = new Array(maxR + 2).fill(0)
  let i = 0
  for (let r = 0; r <= maxR + 1; r++) {
    while (i < f.n && rounds[i] < r) i++
    start[r] = i
  }
  return { start, maxRound: maxR }
}

// ---------------------------------------------------------------- checksums from the output stream
//
// The dataflow's output is a collection of (key, value) records, one value per
// key. The output callback applies each diff to a running per-key multiset;
// a key's contribution to the checksums is taken out when the round first
// touches it and put back, from its new value, when the round ends (the diffs
// of one round may arrive in any order, e.g. the new value before the removal
// of the old one). At the end of a round every key must hold exactly one value
// with multiplicity 1, or nothing.

class KeyedOutput {
  constructor(contrib, valueKey = (v) => v) {
    this.state = new Map() // key -> [[vkey, value, mult], ...]
    this.touched = new Set()
    this.contrib = contrib // (key, value, sign)
    this.valueKey = valueKey
  }

  apply(key, value, mult) {
    let st = this.state.get(key)
    if (!this.touched.has(key)) {
      this.touched.add(key)
      if (st) this.contrib(key, st[0][1], -1)
    }
    const vk = this.valueKey(value)
    if (!st) {
      this.state.set(key, [[vk, value, mult]])
      return
    }
    for (let i = 0; i < st.length; i++) {
      if (st[i][0] === vk) {
        st[i][2] += mult
        if (st[i][2] === 0) {
          st.splice(i, 1)
          if (st.length === 0) this.state.delete(key)
        }
        return
      }
    }
    st.push([vk, value, mult])
  }

  endRound(round) {
    for (const key of this.touched) {
      const st = this.state.get(key)
      if (!st) continue
      if (st.length !== 1 || st[0][2] !== 1)
        fail(3, `round ${round}: the d2ts output holds ${JSON.stringify(st.map(([, v, m]) => [v, m]))} for key ${key} (expected one value with multiplicity 1)`)
      this.contrib(key, st[0][1], +1)
    }
    this.touched.clear()
  }
}

// ---------------------------------------------------------------- dataflows
//
// Each builder returns { inputs: {name: RootStreamBuilder}, out: KeyedOutput,
// sums: () => checksum object }. The last operator of each pipeline is
// consolidate() then output(), whose callback feeds the KeyedOutput and
// records the output frontier.

let outFrontier = -1
function outputTo(out) {
  return output((msg) => {
    if (msg.type === MessageType.DATA) {
      for (const [[k, v], m] of msg.data.collection.getInner()) out.apply(k, v, m)
    } else {
      // the frontier of a 1-dimensional (top-level) stream: its least element
      let least = Infinity
      for (const e of msg.data.elements) least = Math.min(least, e.getInner()[0])
      outFrontier = least
    }
  })
}

// min over the values present (positive multiplicity after consolidation)
function minReducer(vals) {
  const acc = new Map()
  for (const [v, m] of vals) acc.set(v, (acc.get(v) || 0) + m)
  let best = Infinity
  for (const [v, m] of acc) if (m > 0 && v < best) best = v
  return best === Infinity ? [] : [[best, 1]]
}

const EDGE = 0, DIST = 1 // record tags in the loop's collection

function buildBfs(graph) {
  const sums = { reachable: 0, distance_sum: 0 }
  const out = new KeyedOutput((node, dist, s) => {
    sums.reachable += s
    sums.distance_sum += s * dist
  })
  const edges = graph.newInput() // [src, dst]
  const roots = graph.newInput() // node
  // d2ts's iterate() takes one stream and has no way to bring another
  // collection into the loop scope (no `enter`), so the loop's collection
  // carries both the edges and the distances, tagged.
  const seed = edges.pipe(
    map(([s, d]) => [EDGE, s, d]),
    concat(roots.pipe(map((n) => [DIST, n, 0]))),
  )
  seed.pipe(
    iterate((loop) => {
      // consolidate first: the edges come around the loop every iteration and
      // cancel against iterate's ingress retraction only when consolidated.
      // distinct() on the edges: without an operator that drops empty
      // messages (reduce, join) on the edges' way round the loop, an empty
      // message circles it for ever and graph.run() never returns.
      const x = loop.pipe(consolidate())
      const e = x.pipe(filter((r) => r[0] === EDGE), map((r) => [r[1], r[2]]), distinct()) // [src, dst]
      const dist = x.pipe(filter((r) => r[0] === DIST), map((r) => [r[1], r[2]]))
      const next = dist.pipe(
        join(e), // [src, [dist, dst]]
        map(([, [d, dst]]) => [dst, d + 1]),
        concat(dist),
        reduce(minReducer),
        map(([n, d]) => [DIST, n, d]),
      )
      return e.pipe(map(([s, d]) => [EDGE, s, d]), concat(next))
    }),
    filter((r) => r[0] === DIST),
    map((r) => [r[1], r[2]]),
    consolidate(),
    outputTo(out),
  )
  return { inputs: { edges, roots }, out, sums: () => ({ ...sums }) }
}

function buildCc(graph) {
  const labelCount = new Map() // label -> nodes with it
  const sums = { nodes: 0, components: 0, label_sum: 0 }
  const out = new KeyedOutput((node, label, s) => {
    sums.nodes += s
    sums.label_sum += s * label
    const c = (labelCount.get(label) || 0) + s
    if (c === 0) labelCount.delete(label)
    else labelCount.set(label, c)
  })
  const edges = graph.newInput() // [src, dst]
  const both = edges.pipe(concat(edges.pipe(map(([s, d]) => [d, s])))) // undirected
  const nodes = both.pipe(map(([s]) => [s, s]), distinct()) // [n, n]: every endpoint labelled with itself
  const seed = both.pipe(
    map(([s, d]) => [EDGE, s, d]),
    concat(nodes.pipe(map(([n, l]) => [DIST, n, l]))),
  )
  seed.pipe(
    iterate((loop) => {
      const x = loop.pipe(consolidate())
      const e = x.pipe(filter((r) => r[0] === EDGE), map((r) => [r[1], r[2]]), distinct()) // as in bfs
      const label = x.pipe(filter((r) => r[0] === DIST), map((r) => [r[1], r[2]]))
      const next = label.pipe(
        join(e), // [n, [label, neighbour]]
        map(([, [l, m]]) => [m, l]),
        concat(label),
        reduce(minReducer),
        map(([n, l]) => [DIST, n, l]),
      )
      return e.pipe(map(([s, d]) => [EDGE, s, d]), concat(next))
    }),
    filter((r) => r[0] === DIST),
    map((r) => [r[1], r[2]]),
    consolidate(),
    outputTo(out),
  )
  return {
    inputs: { edges },
    out,
    sums: () => ({ nodes: sums.nodes, components: labelCount.size, label_sum: sums.label_sum }),
  }
}

function buildDegrees(graph) {
  const sums = { nodes: 0, degree_sq_sum: 0 }
  const out = new KeyedOutput((degree, nodes, s) => {
    sums.nodes += s * nodes
    sums.degree_sq_sum += s * nodes * degree * degree
  })
  const edges = graph.newInput() // [src, dst]
  edges.pipe(
    count(), // [src, out-degree]
    // d2ts's count() keeps emitting a key with count 0 once all its rows are gone
    filter(([, c]) => c !== 0),
    map(([n, c]) => [c, n]),
    count(), // [degree, nodes]
    filter(([, c]) => c !== 0),
    consolidate(),
    outputTo(out),
  )
  return {
    inputs: { edges },
    out,
    sums: () => {
      let maxDeg = 0
      for (const d of out.state.keys()) if (d > maxDeg) maxDeg = d
      return { nodes: sums.nodes, distinct_degrees: out.state.size, max_degree: maxDeg, degree_sq_sum: sums.degree_sq_sum }
    },
  }
}

// count, sum, min, max of the values present for a key; nothing for a key
// with no rows
function aggReducer(vals) {
  const acc = new Map()
  for (const [v, m] of vals) acc.set(v, (acc.get(v) || 0) + m)
  let cnt = 0, sum = 0, mn = Infinity, mx = -Infinity
  for (const [v, m] of acc) {
    if (m === 0) continue
    cnt += m
    sum += v * m
    if (v < mn) mn = v
    if (v > mx) mx = v
  }
  return cnt === 0 ? [] : [[[cnt, sum, mn, mx], 1]]
}

function buildGroupby(graph) {
  const sums = { keys: 0, count: 0, sum: 0, min_sum: 0, max_sum: 0 }
  const out = new KeyedOutput(
    (key, [c, s, mn, mx], sg) => {
      sums.keys += sg
      sums.count += sg * c
      sums.sum += sg * s
      sums.min_sum += sg * mn
      sums.max_sum += sg * mx
    },
    (v) => `${v[0]},${v[1]},${v[2]},${v[3]}`,
  )
  const rows = graph.newInput() // [key, value]
  if (groupbyBuiltin) {
    // d2ts's own groupBy() with its count/sum/min/max aggregates
    const { count: gCount, sum: gSum, min: gMin, max: gMax } = groupByOperators
    rows.pipe(
      groupBy((r) => ({ key: r[0] }), {
        count: gCount(),
        sum: gSum((r) => r[1]),
        min: gMin((r) => r[1]),
        max: gMax((r) => r[1]),
      }),
      filter(([, r]) => r.count !== 0),
      map(([, r]) => [r.key, [r.count, r.sum, r.min, r.max]]),
      consolidate(),
      outputTo(out),
    )
  } else {
    rows.pipe(reduce(aggReducer), consolidate(), outputTo(out))
  }
  return { inputs: { rows }, out, sums: () => ({ ...sums }) }
}

function buildJoin(graph) {
  const sums = { keys: 0, pairs: 0, pairs_sq_sum: 0 }
  const out = new KeyedOutput((key, p, s) => {
    sums.keys += s
    sums.pairs += s * p
    sums.pairs_sq_sum += s * p * p
  })
  const left = graph.newInput() // [key, value]
  const right = graph.newInput()
  left.pipe(
    join(right), // [key, [lvalue, rvalue]]
    count(), // [key, pairs]
    filter(([, c]) => c !== 0),
    consolidate(),
    outputTo(out),
  )
  return { inputs: { left, right }, out, sums: () => ({ ...sums }) }
}

// ---------------------------------------------------------------- load

const graphWorkload = workload === 'bfs' || workload === 'degrees' || workload === 'cc'
let files, lastRound
if (graphWorkload) {
  const init = readColumns(path.join(dir, 'edges.txt'), 2, -1)
  const upd = readColumns(path.join(dir, 'updates.txt'), 4, 1)
  const idx = roundIndex(upd, 1)
  files = { init, upd, idx }
  lastRound = upd.n ? idx.maxRound : 0
} else if (workload === 'groupby') {
  const upd = readColumns(path.join(dir, 'updates.txt'), 4, 1)
  const idx = roundIndex(upd, 0)
  files = { upd, idx }
  lastRound = upd.n ? idx.maxRound : 0
} else {
  const l = readColumns(path.join(dir, 'left.txt'), 4, 1)
  const r = readColumns(path.join(dir, 'right.txt'), 4, 1)
  const li = roundIndex(l, 0), ri = roundIndex(r, 0)
  files = { l, r, li, ri }
  lastRound = Math.max(l.n ? li.maxRound : 0, r.n ? ri.maxRound : 0)
}
if (Number.isSafeInteger(meta.rounds) && meta.rounds > lastRound) lastRound = meta.rounds
const R = maxRounds === null ? lastRound : Math.min(maxRounds, lastRound)

const graph = new D2({ initialFrontier: 0 })
const flow = { bfs: buildBfs, cc: buildCc, degrees: buildDegrees, groupby: buildGroupby, join: buildJoin }[workload](graph)
graph.finalize()

// records [a, b] of lines lo..hi of columns (a, b) with their diffs
function records(f, lo, hi, withDiff) {
  const out = new Array(hi - lo)
  const [, diff, a, b] = f.cols.length === 4 ? f.cols : [null, null, ...f.cols]
  for (let i = lo; i < hi; i++) out[i - lo] = [[a[i], b[i]], withDiff ? diff[i] : 1]
  return out
}

// a round's elements cut into `t` groups of equal size, the last ones one
// smaller (WORKLOADS.md); returns [first, end) element indices per group
function groups(nElements, t) {
  const g = Math.max(1, Math.min(t, nElements))
  const q = Math.floor(nElements / g), rem = nElements % g
  const out = []
  let at = 0
  for (let i = 0; i < g; i++) {
    const size = q + (i < rem ? 1 : 0)
    out.push([at, at + size])
    at += size
  }
  return out
}

const inputs = Object.values(flow.inputs)
const loadS = (performance.now() - tLoad0) / 1000

// ---------------------------------------------------------------- rounds

let version = 0 // next version to send

function runGraph() {
  try {
    graph.run()
  } catch (e) {
    fail(3, `d2ts failed in graph.run(): ${e.stack || e}`)
  }
}

// With several versions per round, bfs and cc (iterate) close each version
// and run the graph to completion before sending the next (unless
// --versions-at-once): stock d2ts's iterate() broke with several top-level
// versions in flight ("Error: Invalid version" from its feedback operator;
// fix 2 of patch-d2ts.mjs), and one version at a time was no slower. The
// other workloads send all the round's versions, then advance the frontier
// once.
const stepVersions = (workload === 'bfs' || workload === 'cc') && !atOnce
function versionSent(ver) {
  if (!stepVersions) return
  for (const input of inputs) input.sendFrontier(ver + 1)
  runGraph()
}
function send(input, ver, data) {
  if (data.length) input.sendData(ver, new MultiSet(data))
}

// sends round r's changes (round 0: the initial input) at one or more
// versions; returns the number of update lines
function feedRound(r) {
  if (r === 0) {
    let lines = 0
    if (graphWorkload) {
      send(flow.inputs.edges, 0, records(files.init, 0, files.init.n, false))
      if (workload === 'bfs') send(flow.inputs.roots, 0, [[0, 1]])
      lines = files.init.n
    } else if (workload === 'groupby') {
      const { start } = files.idx
      send(flow.inputs.rows, 0, records(files.upd, start[0], start[1], true))
      lines = start[1] - start[0]
    } else {
      const { l, r: rt, li, ri } = files
      send(flow.inputs.left, 0, records(l, li.start[0], li.start[1], true))
      send(flow.inputs.right, 0, records(rt, ri.start[0], ri.start[1], true))
      lines = li.start[1] - li.start[0] + ri.start[1] - ri.start[0]
    }
    version = 1
    return lines
  }
  let lines = 0
  const at = (idx) => (r < idx.start.length - 1 ? [idx.start[r], idx.start[r + 1]] : [0, 0])
  if (graphWorkload || workload === 'groupby') {
    const f = files.upd
    const [lo, hi] = at(files.idx)
    const per = graphWorkload ? 2 : 1 // lines per element
    const input = graphWorkload ? flow.inputs.edges : flow.inputs.rows
    const gs = groups(Math.ceil((hi - lo) / per), timesPerRound)
    gs.forEach(([a, b], g) => {
      send(input, version + g, records(f, lo + a * per, Math.min(hi, lo + b * per), true))
      versionSent(version + g)
    })
    version += gs.length
    lines = hi - lo
  } else {
    // an element: two lines of each side
    const [llo, lhi] = at(files.li), [rlo, rhi] = at(files.ri)
    const n = Math.max(Math.ceil((lhi - llo) / 2), Math.ceil((rhi - rlo) / 2))
    const gs = groups(n, timesPerRound)
    gs.forEach(([a, b], g) => {
      send(flow.inputs.left, version + g, records(files.l, Math.min(lhi, llo + 2 * a), Math.min(lhi, llo + 2 * b), true))
      send(flow.inputs.right, version + g, records(files.r, Math.min(rhi, rlo + 2 * a), Math.min(rhi, rlo + 2 * b), true))
      versionSent(version + g)
    })
    version += gs.length
    lines = lhi - llo + rhi - rlo
  }
  return lines
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const latencies = []
let initialMs = 0
let updateLines = 0
let lastProgress = performance.now()
for (let r = 0; r <= R; r++) {
  const t0 = performance.now()
  const lines = feedRound(r)
  for (const input of inputs) input.sendFrontier(version)
  runGraph()
  if (outFrontier < version)
    fail(3, `round ${r}: graph.run() returned with the output frontier at ${outFrontier}, before version ${version}`)
  flow.out.endRound(r)
  const sums = flow.sums()
  const ms = performance.now() - t0
  for (const [k, v] of Object.entries(sums))
    if (!Number.isSafeInteger(v)) fail(3, `round ${r}: checksum ${k} = ${v} is not an exact integer`)
  emit({ round: r, latency_ms: Math.round(ms * 1000) / 1000, ...sums })
  if (r === 0) initialMs = ms
  else {
    latencies.push(ms)
    updateLines += lines
  }
  if (process.env.D2TS_DEBUG && globalThis.gc) globalThis.gc()
  if (process.env.D2TS_DEBUG) process.stderr.write(`round ${r}: ${ms.toFixed(1)} ms, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB\n`)
  if (performance.now() - lastProgress > 10000) {
    lastProgress = performance.now()
    process.stderr.write(`d2ts ${workload}: round ${r}/${R}\n`)
  }
}

latencies.sort((a, b) => a - b)
const n = latencies.length
const median = n === 0 ? null : n % 2 ? latencies[(n - 1) / 2] : (latencies[n / 2 - 1] + latencies[n / 2]) / 2
const p99 = n === 0 ? null : latencies[Math.max(1, Math.ceil(0.99 * n)) - 1]
const roundS = latencies.reduce((a, b) => a + b, 0) / 1000
const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000)
emit({
  summary: true,
  system: 'd2ts',
  workload,
  workers: 1,
  d2ts: stock ? '0.1.8' : '0.1.8+4 fixes',
  times_per_round: timesPerRound,
  rounds: R,
  load_s: round3(loadS),
  initial_s: round3(initialMs / 1000),
  round_median_ms: round3(median),
  round_p99_ms: round3(p99),
  updates_per_s: roundS > 0 ? Math.round(updateLines / roundS) : null,
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  cpu_s: round3((process.cpuUsage().user + process.cpuUsage().system) / 1e6),
  allocated_bytes: null,
  retained_updates: null,
})
