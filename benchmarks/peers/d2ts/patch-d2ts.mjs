// Makes node_modules/.d2ts-patched/: a copy of the installed @electric-sql/d2ts
// 0.1.8 with four fixes, which the runner uses unless --stock is given. The
// stock package stays untouched beside it.
//
// 1. Index.compact (dist/version-index.js): after advancing a key's versions to the compaction frontier,
// compact() consolidates each resulting version and, when one of them sums to
// nothing, deletes the *whole key* (`this.#inner.delete(key)`) instead of that
// one version. With totally ordered versions (no iterate) everything below the
// frontier collapses into one version and nothing is lost; inside iterate()
// the versions (t, i) of the different iterations stay apart, so one empty
// iteration drops the key's other iterations: after the first round, bfs and
// cc lose e.g. the root's distance 0 and answer wrongly. The fix deletes the
// version, and the key only once it has no version left.
// 2. FeedbackOperator (dist/operators/iterate.js), 3. hash() (dist/utils.js)
// and 4. D2's unread readers (dist/d2.js, dist/graph.js): see below.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const src = path.join(here, 'node_modules', '@electric-sql', 'd2ts')
const dst = path.join(here, 'node_modules', '.d2ts-patched')

const pkg = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'))
if (pkg.version !== '0.1.8') {
  process.stderr.write(`patch-d2ts: installed d2ts is ${pkg.version}, the patch is for 0.1.8; check whether it is still needed\n`)
  process.exit(2)
}

fs.rmSync(dst, { recursive: true, force: true })
fs.mkdirSync(dst, { recursive: true })
fs.cpSync(path.join(src, 'dist'), path.join(dst, 'dist'), { recursive: true })
fs.copyFileSync(path.join(src, 'package.json'), path.join(dst, 'package.json'))

// Each fix: [file under dist/, the exact code, its replacement].
const fixes = [
  // 1. Index.compact dropped a whole key when one of its versions consolidated
  //    to nothing (see above).
  [
    'version-index.js',
    `                else {
                    this.#inner.delete(key);
                }`,
    `                else {
                    // rhizoflow d2ts peer: drop the empty version, not the key
                    versions.delete(version);
                    if (versions.size === 0)
                        this.#inner.delete(key);
                }`,
  ],
  // 2. iterate()'s FeedbackOperator decides that a top-level version's
  //    iteration is over after three frontier steps with no data of that
  //    version in flight. Incrementally that is unsound: a change at (t, 2)
  //    can produce the next correction at (t, 7) -- a reduce revisits a key
  //    at the join of the new version with versions (t', 7) of earlier
  //    rounds -- with nothing in flight at (t, 3..6). The operator then closes
  //    t, and the correction arriving at (t, 8) throws "Error: Invalid
  //    version" from sendData (seen on cc; on bfs too with longer runs). The
  //    fix also keeps the frontier element while its iteration is at most one
  //    past the largest iteration the loop has ever sent data at: no operator
  //    can hold work at a later iteration, since every version in the loop
  //    came through this operator (or the ingress, at iterations 0 and 1).
  [
    'operators/iterate.js',
    `    #step;
    constructor(id, inputA, step, output, initialFrontier) {`,
    `    #step;
    // rhizoflow d2ts peer: the largest iteration sent at so far
    #maxIteration = 1;
    constructor(id, inputA, step, output, initialFrontier) {`,
  ],
  [
    'operators/iterate.js',
    `                this.#inFlightData.get(truncated).add(newVersion);`,
    `                this.#inFlightData.get(truncated).add(newVersion);
                const inner = newVersion.getInner();
                if (inner[inner.length - 1] > this.#maxIteration)
                    this.#maxIteration = inner[inner.length - 1];`,
  ],
  [
    'operators/iterate.js',
    `                if (emptySet.size <= 3) {`,
    `                const elemInner = elem.getInner();
                if (emptySet.size <= 3 || elemInner[elemInner.length - 1] <= this.#maxIteration + 1) {`,
  ],
  // 3. hash() (dist/utils.js) is what MultiSet.consolidate() -- and so every
  //    consolidate() operator -- and Index.compact use as the identity of a
  //    record that is not a plain number or string: a 32-bit murmur3 of its
  //    JSON. Two records with the same hash are merged, one of them lost and
  //    its multiplicity added to the other: [1456, 3] and [8001, 3] collide,
  //    and bfs on 10k nodes / 100k edges printed node 8001 twice. With n
  //    distinct records in one version a collision is likely from n ~ 10^5 on
  //    (n^2 / 2^33). The fix returns the JSON text itself, which is exact
  //    (prefixed to keep primitives and objects apart).
  [
    'utils.js',
    `        const serialized = JSON.stringify(data, hashReplacer);
        return murmurhash.murmur3(serialized);`,
    `        const serialized = JSON.stringify(data, hashReplacer);
        return 'p' + serialized; // rhizoflow d2ts peer: exact, not a 32-bit hash`,
  ],
  [
    'utils.js',
    `    const hashValue = murmurhash.murmur3(JSON.stringify(serialized));`,
    `    const hashValue = 'o' + serialized; // rhizoflow d2ts peer: exact, not a 32-bit hash`,
  ],
  // 4. D2 keeps, for every stream of the graph, one more reader in a list
  //    (D2.#streams) that nothing ever reads or drains: every message sent on
  //    every edge stays queued in it for the life of the graph, and each new
  //    message is unshift()ed in front of all of them. Memory grows with all
  //    the updates ever sent, and the time of a round with the number of
  //    rounds before it (bfs 100k nodes / 1M edges: round 1 took 12 s,
  //    round 9 116 s; 39% of the time in sendFrontier/sendData's unshift).
  //    The fix detaches those readers: the writer skips their queues.
  [
    'graph.js',
    `    constructor(queue) {
        this.#queue = queue;
    }`,
    `    constructor(queue) {
        this.#queue = queue;
    }
    // rhizoflow d2ts peer: a reader nobody reads; its writer stops queueing
    detach() {
        this.#queue.detached = true;
        this.#queue.length = 0;
    }`,
  ],
  [
    'graph.js',
    `        for (const q of this.#queues) {
            q.unshift({
                type: MessageType.DATA,`,
    `        for (const q of this.#queues) {
            if (q.detached)
                continue;
            q.unshift({
                type: MessageType.DATA,`,
  ],
  [
    'graph.js',
    `        for (const q of this.#queues) {
            q.unshift({ type: MessageType.FRONTIER, data: frontier });`,
    `        for (const q of this.#queues) {
            if (q.detached)
                continue;
            q.unshift({ type: MessageType.FRONTIER, data: frontier });`,
  ],
  [
    'd2.js',
    `        this.#streams.push(streamBuilder.connectReader());`,
    `        streamBuilder.connectReader().detach(); // rhizoflow d2ts peer`,
  ],
  [
    'd2.js',
    `        this.#streams.push(stream);`,
    `        stream.detach(); // rhizoflow d2ts peer`,
  ],
]

for (const [rel, bug, fix] of fixes) {
  const file = path.join(dst, 'dist', rel)
  const text = fs.readFileSync(file, 'utf8')
  if (text.split(bug).length !== 2) {
    process.stderr.write(`patch-d2ts: ${file}: the code to fix is not there exactly once\n`)
    process.exit(2)
  }
  fs.writeFileSync(file, text.replace(bug, fix))
}
