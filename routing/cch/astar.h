// hazmat.routing._cch's exact search on a state no metric holds yet (issue #18): Metric.search.
//
// Why: a state nobody prepared (a zone going out of force, a zone set replaced, a departure beyond the
// horizon) costs a partial customisation of up to a second at a million nodes, a full one five to seven.
// Its first request is answered without it: an A* on the input graph with the state's weights, its
// potentials from a held metric whose weights are a lower bound arc by arc (the unrestricted metric, or a
// metric of the class closing a subset of the state's arcs: closing only raises weights to INF).
//
// Potentials are CCH potentials (Strasser & Zeitz, "Efficient route planning with CCH potentials"): a
// backward elimination-tree search from the targets (each seeded with its cost offset) gives b(u) on the
// targets' ancestors; then pot(v) = min(b(v), min over v's upward arcs v→u of forward(v→u) + pot(u)), which
// is the lower metric's exact distance from v to the targets (up-down paths suffice in a customised CCH).
// Every upward neighbour of v is an ancestor of v in the elimination tree, so pot(v) is computed by walking
// v's elimination-tree path up to the first node known, then down along it: the known set stays closed
// upwards and each node is computed once per search (memoised). The potential is consistent: a distance
// under weights at most the state's (pot(v) <= state(v→u) + pot(u)), so the first pop of a node is final.
//
// One label per source, keyed with its integer cost offset; the pair is chosen by the float costs exactly (see
// run()). Two things keep the work near one plain A*: a label another label beats by 3 units of key at a node
// is not expanded there (both ends of a street as sources: one label's work, not two), and a target the state
// encloses (a closed zone around it) is found unreachable by a backward breadth-first search from the targets
// begun when the A* struggles, not after the A* has settled every node the sources reach.
//
// This file holds the search; the binding (_cch.cpp) only checks arguments, takes the lower metric's lock
// and a scratch of the pool, and calls run().

#pragma once

#include <routingkit/constants.h>
#include <routingkit/customizable_contraction_hierarchy.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace hazmat_astar {

constexpr unsigned INF = RoutingKit::inf_weight;
constexpr unsigned INVALID = RoutingKit::invalid_id;
constexpr uint64_t UNKNOWN = std::numeric_limits<uint64_t>::max();  // a potential not computed yet
constexpr uint64_t FAR = uint64_t{1} << 62;  // no target reachable (sums of a few stay below UNKNOWN)
constexpr uint64_t MAX_OFFSET = uint64_t{1} << 52;  // cost offsets, in weight units (doubles are exact below)
// Labels the A* settles without meeting a target before the backward reachability search starts beside it
constexpr size_t REACH_AFTER = 4096;
constexpr uint8_t TARGET = 1, SOURCE = 2;  // Scratch::mark bits

// The search state of one run, sized to the topology's nodes: every potential UNKNOWN, every distance INF and
// every mark clear between runs (a run resets what it touched), so a scratch serves any metric of its topology.
struct Scratch {
    explicit Scratch(unsigned n)
        : node_count(n), pot(n, UNKNOWN), b(n, FAR), node_pot(n, UNKNOWN), mark(n, 0), reach(n, 0) {}

    void reserve(unsigned labels) {
        if (labels <= capacity)
            return;
        label.assign(static_cast<size_t>(node_count) * labels, Label{INF, INVALID});
        capacity = labels;
    }

    struct Label {
        unsigned dist, pred;  // the state's distance from the label's source, and the last arc (one cache line)
    };
    struct Entry {
        uint64_t key;
        unsigned node, label, dist;  // dist: the label's distance when pushed (a later, lower one makes it stale)
        bool operator>(const Entry &o) const { return key > o.key; }
    };

    unsigned node_count;
    unsigned capacity = 0;
    std::vector<uint64_t> pot;  // by rank: the lower metric's distance to the targets (with their offsets)
    std::vector<uint64_t> b;  // by rank: the backward elimination-tree search from the targets
    std::vector<uint64_t> node_pot;  // by node: pot of the nodes the A* reached (one look-up, not two)
    std::vector<uint8_t> mark;  // by node: TARGET when some target is this node, SOURCE when some source
    std::vector<uint8_t> reach;  // by node: 1 when the backward search from the targets reached it
    std::vector<unsigned> reached;  // those nodes, in the order reached (the backward search's queue)
    std::vector<Label> label;  // by node × label
    std::vector<unsigned> pot_touched, node_touched, ancestors, chain, spare;
    std::vector<size_t> dist_touched;  // node × label indices
    std::vector<Entry> heap;
};

// The input arcs by tail (the A* walks the input graph, not the hierarchy) and the pool of scratches; one per
// topology, built on the first search (Topology::input_graph), read-only afterwards but for the pool.
class InputGraph {
  public:
    InputGraph(unsigned node_count, const std::vector<unsigned> &tail, const std::vector<unsigned> &head)
        : node_count_(node_count), tail_(tail) {
        by(tail, head, first_out_, arc_, head_);
        by(head, tail, first_in_, in_arc_, in_tail_);
    }

    unsigned node_count() const { return node_count_; }
    const std::vector<unsigned> &tail() const { return tail_; }  // by input arc id (the topology's own)
    const std::vector<unsigned> &first_out() const { return first_out_; }
    const std::vector<unsigned> &arc() const { return arc_; }
    const std::vector<unsigned> &head() const { return head_; }
    const std::vector<unsigned> &first_in() const { return first_in_; }  // the arcs by head, alike
    const std::vector<unsigned> &in_arc() const { return in_arc_; }
    const std::vector<unsigned> &in_tail() const { return in_tail_; }

    // A scratch of the pool (a new one when every one is in use): one per search running at once.
    std::unique_ptr<Scratch> take_scratch() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (pool_.empty())
            return std::make_unique<Scratch>(node_count_);
        auto s = std::move(pool_.back());
        pool_.pop_back();
        return s;
    }
    void give_scratch(std::unique_ptr<Scratch> s) {
        std::lock_guard<std::mutex> lock(mutex_);
        pool_.push_back(std::move(s));
    }

  private:
    // The arcs grouped by ``from`` (a CSR): where each node's start, their ids, and their other ends.
    void by(const std::vector<unsigned> &from, const std::vector<unsigned> &to, std::vector<unsigned> &first,
            std::vector<unsigned> &arc, std::vector<unsigned> &other) const {
        first.assign(node_count_ + 1, 0);
        arc.resize(from.size());
        other.resize(from.size());
        for (unsigned x : from)
            ++first[x + 1];
        for (unsigned x = 0; x < node_count_; ++x)
            first[x + 1] += first[x];
        std::vector<unsigned> next(first.begin(), first.end() - 1);
        for (unsigned a = 0; a < from.size(); ++a) {
            unsigned p = next[from[a]]++;
            arc[p] = a;
            other[p] = to[a];
        }
    }

    unsigned node_count_;
    const std::vector<unsigned> &tail_;  // the topology's, which outlives this and never changes once built
    std::vector<unsigned> first_out_, arc_, head_, first_in_, in_arc_, in_tail_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Scratch>> pool_;
};

// The first arc whose weight is below the lower metric's (``count`` when none): the precondition of exactness.
// By blocks, so the test of a block vectorises and only a failing block is scanned.
inline size_t first_below(const unsigned *weights, const unsigned *lower, size_t count) {
    constexpr size_t BLOCK = 4096;
    for (size_t start = 0; start < count; start += BLOCK) {
        size_t end = std::min(count, start + BLOCK);
        unsigned below = 0;
        for (size_t a = start; a < end; ++a)
            below |= static_cast<unsigned>(weights[a] < lower[a]);
        if (below)
            for (size_t a = start; a < end; ++a)
                if (weights[a] < lower[a])
                    return a;
    }
    return count;
}

struct Stats {
    size_t settled = 0, pushed = 0, potentials = 0, ancestors = 0, reached = 0, dropped = 0;
};

struct Answer {
    double cost = std::numeric_limits<double>::infinity();
    unsigned distance = INF;
    long source = -1, target = -1;
    std::vector<unsigned> arcs;
};

// Integer offsets of float costs (seconds): floor((cost - least finite cost) * scale), capped; +inf: none
// (such a source or target is never chosen, as in query_many, where its cost is never below another).
inline std::vector<uint64_t> offsets(const std::vector<double> &cost, double scale) {
    double least = std::numeric_limits<double>::infinity();
    for (double c : cost)
        least = std::min(least, c * scale);
    std::vector<uint64_t> out(cost.size(), UNKNOWN);
    for (size_t i = 0; i < cost.size(); ++i)
        if (std::isfinite(cost[i]))
            out[i] = static_cast<uint64_t>(std::min(std::floor(cost[i] * scale - least), static_cast<double>(MAX_OFFSET)));
    return out;
}

// One exact search. ``weights``: the state's weight of every input arc (checked >= the lower metric's by the
// caller); ``lower``: a customised metric of ``cch``. Sources and targets are node ids, their costs finite or
// +inf. The answer is the pair of least s_cost[i] + d(i, j) / scale + t_cost[j] (the first of equals,
// source-major) with d in ``weights``, and a shortest path of that pair in input arcs.
//
// Exactness of the pair under float costs: the search runs one label per source (the product of nodes and
// sources) with key o_i + g + pot, where o_i and p_j (inside pot, seeded on the targets) are the floored
// offsets of the costs. With A_i = s_cost[i] * scale and B_j = t_cost[j] * scale, a pair's integer key
// K_ij = o_i + d_ij + p_j satisfies K_ij <= A_i + d_ij + B_j - C < K_ij + 2 for one constant C (two floors).
// A pair not found yet has K_ij >= the least key in the queue (consistent potentials: keys pop in order and
// K_ij >= the key of its target's pop), so once that least key is >= best K + 4, every pair not found costs
// over 2 / scale more than the best found: it can neither win nor tie, far beyond double rounding (the
// offsets are capped at 2^52, where doubles stop being exact: costs beyond that are not meaningful). A label
// dominated by another (below) is not expanded: a pair may then be found longer than it is, or not at all, but
// only one costing over 1 / scale more than a pair found exactly; so the winner and every pair tying it are
// found exactly, and among the found pairs the choice is query_many's own loop.
inline void run(const InputGraph &graph, Scratch &sc, const RoutingKit::CustomizableContractionHierarchy &cch,
                const RoutingKit::CustomizableContractionHierarchyMetric &lower, const unsigned *weights,
                const std::vector<unsigned> &s, const std::vector<double> &s_cost, const std::vector<unsigned> &t,
                const std::vector<double> &t_cost, double scale, Answer &answer, Stats &stats) {
    const size_t k = s.size(), m = t.size();
    sc.reserve(static_cast<unsigned>(std::max<size_t>(k, 1)));
    const std::vector<uint64_t> o = offsets(s_cost, scale), p = offsets(t_cost, scale);
    const unsigned *up_first_out = cch.up_first_out.data(), *up_head = cch.up_head.data();
    const unsigned *fw = lower.forward.data(), *bw = lower.backward.data();
    const unsigned *parent = cch.elimination_tree_parent.data();
    uint64_t *pot = sc.pot.data(), *b = sc.b.data();

    // b: the backward elimination-tree search from the targets, over the union of their ancestors by rank
    sc.ancestors.clear();
    for (size_t j = 0; j < m; ++j) {
        if (p[j] == UNKNOWN)
            continue;
        sc.mark[t[j]] |= TARGET;
        unsigned x = cch.rank[t[j]];
        size_t before = sc.ancestors.size();
        bool fresh = b[x] == FAR;
        b[x] = std::min(b[x], p[j]);
        if (!fresh)
            continue;  // a target met before on another's path: its ancestors are in already
        for (unsigned y = x; y != INVALID && (y == x || b[y] == FAR); y = parent[y]) {
            if (y != x)
                b[y] = FAR - 1;  // marked in (FAR - 1: in the union, nothing reached it yet)
            sc.ancestors.push_back(y);
        }
        if (before != 0 && sc.ancestors.size() != before) {
            sc.spare.resize(sc.ancestors.size());
            std::merge(sc.ancestors.begin(), sc.ancestors.begin() + before, sc.ancestors.begin() + before,
                       sc.ancestors.end(), sc.spare.begin());
            sc.ancestors.swap(sc.spare);
        }
    }
    for (unsigned x : sc.ancestors) {
        if (b[x] >= FAR - 1)
            continue;
        for (unsigned xy = up_first_out[x]; xy < up_first_out[x + 1]; ++xy)
            if (bw[xy] < INF)
                b[up_head[xy]] = std::min(b[up_head[xy]], b[x] + bw[xy]);
    }
    stats.ancestors = sc.ancestors.size();

    // pot(v), lazily: up v's elimination-tree path to the first node known, then down it
    uint64_t *node_pot = sc.node_pot.data();
    auto potential = [&](unsigned v) -> uint64_t {
        if (node_pot[v] != UNKNOWN)
            return node_pot[v];
        sc.node_touched.push_back(v);
        unsigned x = cch.rank[v];
        if (pot[x] != UNKNOWN)
            return node_pot[v] = pot[x];
        sc.chain.clear();
        for (unsigned y = x; y != INVALID && pot[y] == UNKNOWN; y = parent[y])
            sc.chain.push_back(y);
        for (size_t c = sc.chain.size(); c-- > 0;) {
            unsigned y = sc.chain[c];
            uint64_t best = b[y] >= FAR - 1 ? FAR : b[y];
            for (unsigned yz = up_first_out[y]; yz < up_first_out[y + 1]; ++yz)
                if (fw[yz] < INF)
                    best = std::min(best, pot[up_head[yz]] + fw[yz]);  // known: an ancestor of y
            pot[y] = std::min(best, FAR);
            sc.pot_touched.push_back(y);
        }
        return node_pot[v] = pot[x];
    };

    // the A*: one label per source, one queue
    const unsigned *first_out = graph.first_out().data(), *out_arc = graph.arc().data(), *out_head = graph.head().data();
    Scratch::Label *label = sc.label.data();
    auto &heap = sc.heap;
    heap.clear();
    const auto later = std::greater<Scratch::Entry>();
    uint64_t best_key = FAR;  // the least o_i + d_ij + p_j found
    std::vector<unsigned> found(k * m, INF);
    size_t remaining = 0;

    // The targets' reachability in the state, by a breadth-first search backwards from them (a node's arcs
    // scanned per two labels settled: at most half the A*'s work), begun once the A* has settled REACH_AFTER
    // labels without meeting a target (a target the state encloses, say in a closed zone, is reachable under the
    // lower weights: the A* alone would settle every node reachable from the sources before it knew). When it has reached every source it stops
    // (nothing left to learn); when it ends first, the nodes it reached are exactly those that reach a target:
    // a label whose source is not among them is dropped, and no label enters a node not among them.
    std::vector<uint8_t> alive(k, 0);
    size_t alive_count = 0, unreached = 0, next_reached = 0;
    enum { OFF, ON, DONE } reach = OFF;
    const unsigned *first_in = graph.first_in().data(), *in_arc = graph.in_arc().data();
    const unsigned *in_tail = graph.in_tail().data();
    // Label i at ``node`` with distance d is dominated when another label i2 is there already (by a path of
    // length dist) at least 3 below it in integer key: every pair (i, j) through it has K_ij >= K_i2j + 3, so it
    // costs over 1 / scale more than (i2, j) (two floors) and can neither win nor tie; not expanding it leaves
    // every pair that could win exact (its shortest path passes no dominated label). With both ends of a street
    // as sources, one label is dominated nearly everywhere: the search costs about one label, not two. Only by a
    // label no longer than it: a longer one may pass INF_WEIGHT on a continuation this one drives (found in review).
    auto dominated = [&](size_t node, size_t i, unsigned d) {
        const Scratch::Label *at = label + node * k;
        for (size_t i2 = 0; i2 < k; ++i2)
            if (i2 != i && at[i2].dist <= d && o[i2] + at[i2].dist + 3 <= o[i] + d)
                return true;
        return false;
    };
    auto backward_step = [&]() {
        if (next_reached == sc.reached.size()) {
            reach = DONE;
            for (size_t i = 0; i < k; ++i)
                if (alive[i] && !sc.reach[s[i]]) {
                    alive[i] = 0;
                    --alive_count;
                    ++stats.dropped;
                }
            return;
        }
        unsigned x = sc.reached[next_reached++];
        for (unsigned q = first_in[x]; q < first_in[x + 1]; ++q) {
            unsigned u = in_tail[q];
            if (sc.reach[u] || weights[in_arc[q]] >= INF)
                continue;
            sc.reach[u] = 1;
            sc.reached.push_back(u);
            if ((sc.mark[u] & SOURCE) && --unreached == 0)
                reach = OFF;  // every source reaches a target: the A* finds them
        }
    };
    for (size_t i = 0; i < k; ++i) {
        if (o[i] == UNKNOWN)
            continue;
        uint64_t h = potential(s[i]);
        if (h >= FAR)
            continue;  // no target reachable, even under the lower weights
        for (size_t j = 0; j < m; ++j)
            remaining += p[j] != UNKNOWN;  // the pairs this label may find (the search ends when all are)
        if (!(sc.mark[s[i]] & SOURCE))
            ++unreached;
        sc.mark[s[i]] |= SOURCE;
        alive[i] = 1;
        ++alive_count;
        size_t at = static_cast<size_t>(s[i]) * k + i;
        label[at] = {0, INVALID};
        sc.dist_touched.push_back(at);
        heap.push_back({o[i] + h, s[i], static_cast<unsigned>(i), 0});
        std::push_heap(heap.begin(), heap.end(), later);
        ++stats.pushed;
    }
    while (!heap.empty() && remaining != 0 && alive_count != 0 && heap.front().key < best_key + 4) {
        Scratch::Entry e = heap.front();
        std::pop_heap(heap.begin(), heap.end(), later);
        heap.pop_back();
        const size_t i = e.label;
        const unsigned g = e.dist;
        if (label[static_cast<size_t>(e.node) * k + i].dist != g || !alive[i])
            continue;  // stale (the node was pushed again with a lower key and popped then), or a label dropped
        if (reach == OFF && best_key == FAR && stats.settled == REACH_AFTER && unreached != 0) {
            reach = ON;
            for (size_t j = 0; j < m; ++j)
                if (p[j] != UNKNOWN && !sc.reach[t[j]]) {
                    sc.reach[t[j]] = 1;
                    sc.reached.push_back(t[j]);
                    if ((sc.mark[t[j]] & SOURCE) && --unreached == 0)
                        reach = OFF;
                }
        }
        if (dominated(e.node, i, g))
            continue;  // another label reached it cheaper since
        ++stats.settled;
        if (reach == ON && best_key == FAR && (stats.settled & 1))
            backward_step();
        if (m <= 4 || (sc.mark[e.node] & TARGET))  // a few targets: compared, not looked up (a cache miss)
            for (size_t j = 0; j < m; ++j)
                if (t[j] == e.node && p[j] != UNKNOWN && found[i * m + j] == INF) {
                    found[i * m + j] = g;
                    --remaining;
                    best_key = std::min(best_key, o[i] + g + p[j]);
                }
        for (unsigned q = first_out[e.node]; q < first_out[e.node + 1]; ++q) {
            unsigned w = weights[out_arc[q]];
            if (w >= INF || g + w >= INF)
                continue;
            unsigned y = out_head[q], d = g + w;
            size_t at = static_cast<size_t>(y) * k + i;
            if (d >= label[at].dist)
                continue;
            if (reach == DONE && !sc.reach[y])
                continue;  // reaches no target in the state
            if (dominated(y, i, d))
                continue;
            uint64_t h = potential(y);
            if (h >= FAR || o[i] + d + h >= best_key + 4)
                continue;  // reaches no target, or never pops before the search ends
            if (label[at].dist == INF)
                sc.dist_touched.push_back(at);
            label[at] = {d, out_arc[q]};
            heap.push_back({o[i] + d + h, y, static_cast<unsigned>(i), d});
            std::push_heap(heap.begin(), heap.end(), later);
            ++stats.pushed;
        }
    }
    stats.potentials = sc.pot_touched.size();
    stats.reached = sc.reached.size();

    // query_many's choice among the pairs found, then the chosen pair's path back along the last arcs
    for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < m; ++j) {
            unsigned d = found[i * m + j];
            if (d >= INF)
                continue;
            double cost = s_cost[i] + d / scale + t_cost[j];
            if (cost < answer.cost) {
                answer.cost = cost;
                answer.distance = d;
                answer.source = static_cast<long>(i);
                answer.target = static_cast<long>(j);
            }
        }
    if (answer.source >= 0) {
        const size_t i = static_cast<size_t>(answer.source);
        for (unsigned a = label[static_cast<size_t>(t[answer.target]) * k + i].pred; a != INVALID;
             a = label[static_cast<size_t>(graph.tail()[a]) * k + i].pred)
            answer.arcs.push_back(a);
        std::reverse(answer.arcs.begin(), answer.arcs.end());
    }

    // leave the scratch as found
    for (unsigned x : sc.pot_touched)
        pot[x] = UNKNOWN;
    for (unsigned x : sc.ancestors)
        b[x] = FAR;
    for (size_t at : sc.dist_touched)
        label[at] = {INF, INVALID};
    for (unsigned v : sc.node_touched)
        node_pot[v] = UNKNOWN;
    sc.node_touched.clear();
    for (unsigned v : t)
        sc.mark[v] = 0;
    for (unsigned v : s)
        sc.mark[v] = 0;
    for (unsigned v : sc.reached)
        sc.reach[v] = 0;
    sc.reached.clear();
    sc.pot_touched.clear();
    sc.dist_touched.clear();
    heap.clear();
}

}  // namespace hazmat_astar
