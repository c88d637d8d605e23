// hazmat.routing._cch: our binding of RoutingKit's customizable contraction hierarchy (third_party/routingkit).
//
// Why our own (issue #18): a route search with a two-way street at either end has two sources and two
// targets, each with the cost of its partial arc. pyroutingkit ran a distance table (one elimination-tree
// run per source) and then a path query for the best pair: three runs, the GIL held. Here one run answers
// it (Metric.query_many): the elimination-tree searches carry one label per source (forward) and per target
// (backward) in one walk over the union of their elimination-tree paths, so every pair's exact distance is
// known at once; the pair is chosen by the caller's float costs, exactly as a loop over a distance table
// would, and its path is unpacked. For each label the relaxations happen in the order RoutingKit's own
// point-to-point query makes them (ascending rank along the source's ancestors, arcs in order, strict <),
// and the meeting node is the first strict minimum along the target's ancestors, so the distance and the
// arc path of the chosen pair are those of RoutingKit's query(s, t): answers stay identical.
//
// Threads: queries release the GIL and may run on one metric from many threads at once (each takes a
// scratch of its topology's pool); customize and update_weights take the metric's lock exclusively, so
// they wait for the queries under way and the queries wait for them (never a half-customised metric).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <routingkit/constants.h>
#include <routingkit/customizable_contraction_hierarchy.h>
#include <routingkit/graph_util.h>
#include <routingkit/nested_dissection.h>
#include <routingkit/vector_io.h>

#include "astar.h"
#include "perfect.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <atomic>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;
namespace rk = RoutingKit;

namespace {

using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using F64Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

constexpr unsigned INF = rk::inf_weight;
constexpr unsigned INVALID = rk::invalid_id;

std::vector<unsigned> to_vector(const U32Array &a) {
    return std::vector<unsigned>(a.data(), a.data() + a.size());
}

// A weight above INF_WEIGHT would wrap around in the searches' sums (RoutingKit caps nothing): refused, named.
void check_weights(const std::vector<unsigned> &w, const char *name) {
    for (size_t i = 0; i < w.size(); ++i)
        if (w[i] > INF)
            throw std::invalid_argument(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(w[i]) +
                                        " is above INF_WEIGHT (" + std::to_string(INF) + "): a closed arc is INF_WEIGHT");
}

py::array_t<uint32_t> to_numpy(const std::vector<unsigned> &v) {
    py::array_t<uint32_t> out(static_cast<py::ssize_t>(v.size()));
    if (!v.empty())
        std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(unsigned));
    return out;
}

// The search state of one multi-label query, sized to the topology's nodes: every distance is INF and
// every mark clear between queries (a query resets what it touched), so a scratch serves any metric of
// its topology and any number of labels up to its capacity.
struct Scratch {
    explicit Scratch(unsigned n) : node_count(n), mark(n, 0) {}

    void reserve(unsigned labels) {
        if (labels <= capacity)
            return;
        size_t size = static_cast<size_t>(node_count) * labels;
        forward.assign(size, INF);
        backward.assign(size, INF);
        forward_pred.assign(size, INVALID);
        backward_pred.assign(size, INVALID);
        capacity = labels;
    }

    unsigned node_count;
    unsigned capacity = 0;
    std::vector<unsigned> forward, backward, forward_pred, backward_pred;
    std::vector<uint8_t> mark;  // 1: in a source's elimination-tree path, 2: in a target's
    std::vector<unsigned> up, down;  // those paths' union, by ascending rank
    std::vector<unsigned> spare;  // room for a merge; the forward frontier of a search of the perfect graphs
    std::vector<unsigned> heap;  // the backward frontier
    std::vector<std::pair<bool, unsigned>> unpack_stack;  // unpacking a perfect path
};

// Lower triangles of an arc, arc unpacking and the input arc of a CCH arc: RoutingKit's own code
// (src/customizable_contraction_hierarchy.cpp, anonymous namespace there), kept as it is so paths
// unpack exactly as its query's get_arc_path does.
template <class F>
bool forall_lower_triangles_of_arc(const rk::CustomizableContractionHierarchy &cch, unsigned x, unsigned y, unsigned xy,
                                   const F &f) {
    (void)xy;
    unsigned x_down_arc = cch.down_first_out[x];
    unsigned x_down_arc_end = cch.down_first_out[x + 1];
    unsigned y_down_arc = cch.down_first_out[y];
    unsigned y_down_arc_end = cch.down_first_out[y + 1];
    while (x_down_arc != x_down_arc_end && y_down_arc != y_down_arc_end) {
        if (cch.down_head[x_down_arc] < cch.down_head[y_down_arc]) {
            ++x_down_arc;
        } else if (cch.down_head[x_down_arc] > cch.down_head[y_down_arc]) {
            ++y_down_arc;
        } else {
            unsigned z = cch.down_head[x_down_arc];
            if (!f(cch.down_to_up[x_down_arc], cch.down_to_up[y_down_arc], xy, z, x, y))
                return false;
            ++x_down_arc;
            ++y_down_arc;
        }
    }
    return true;
}

template <class OnNewSegment>
void unpack_arc(const rk::CustomizableContractionHierarchy &cch, const rk::CustomizableContractionHierarchyMetric &metric,
                bool is_forward, unsigned x, unsigned y, unsigned xy, const OnNewSegment &on_new_segment) {
    unsigned bottom_node = INVALID, bottom_arc = 0, mid_arc = 0;
    auto unpacker = [&](unsigned bottom_arc_, unsigned mid_arc_, unsigned top_arc_, unsigned bottom_node_,
                        unsigned, unsigned) {
        bool fits;
        if (is_forward)
            fits = metric.forward[top_arc_] == metric.backward[bottom_arc_] + metric.forward[mid_arc_];
        else
            fits = metric.backward[top_arc_] == metric.forward[bottom_arc_] + metric.backward[mid_arc_];
        if (fits) {
            bottom_node = bottom_node_;
            bottom_arc = bottom_arc_;
            mid_arc = mid_arc_;
            return false;
        }
        return true;
    };
    forall_lower_triangles_of_arc(cch, x, y, xy, unpacker);
    if (bottom_node == INVALID) {
        if (is_forward)
            on_new_segment(x, xy, true);
        else
            on_new_segment(y, xy, false);
    } else if (is_forward) {
        unpack_arc(cch, metric, false, bottom_node, x, bottom_arc, on_new_segment);
        unpack_arc(cch, metric, true, bottom_node, y, mid_arc, on_new_segment);
    } else {
        unpack_arc(cch, metric, false, bottom_node, y, mid_arc, on_new_segment);
        unpack_arc(cch, metric, true, bottom_node, x, bottom_arc, on_new_segment);
    }
}

unsigned input_arc(const rk::CustomizableContractionHierarchy &cch, const rk::CustomizableContractionHierarchyMetric &metric,
                   unsigned cch_arc, bool is_forward) {
    const auto &weight = is_forward ? metric.forward : metric.backward;
    const auto &first = is_forward ? cch.forward_input_arc_of_cch : cch.backward_input_arc_of_cch;
    const auto &extra_first = is_forward ? cch.first_extra_forward_input_arc_of_cch : cch.first_extra_backward_input_arc_of_cch;
    const auto &extra = is_forward ? cch.extra_forward_input_arc_of_cch : cch.extra_backward_input_arc_of_cch;
    if (cch.does_cch_arc_have_input_arc.is_set(cch_arc)) {
        unsigned i = cch.does_cch_arc_have_input_arc_mapper.to_local(cch_arc);
        if (first[i] != INVALID) {
            if (weight[cch_arc] == metric.input_weight[first[i]])
                return first[i];
            if (cch.does_cch_arc_have_extra_input_arc.is_set(cch_arc)) {
                unsigned j = cch.does_cch_arc_have_extra_input_arc_mapper.to_local(cch_arc);
                for (unsigned k = extra_first[j]; k < extra_first[j + 1]; ++k)
                    if (weight[cch_arc] == metric.input_weight[extra[k]])
                        return extra[k];
            }
        }
    }
    return INVALID;
}

}  // namespace

// The metric-independent part: the nested-dissection order and the chordal supergraph of the arcs.
class Topology {
  public:
    Topology() = default;

    void build(const U32Array &tail, const U32Array &head, const py::array_t<float, py::array::c_style | py::array::forcecast> &latitude,
               const py::array_t<float, py::array::c_style | py::array::forcecast> &longitude, unsigned node_count) {
        refuse_rebuild();
        if (node_count == 0)  // RoutingKit's nested dissection has no order for no node (it crashed)
            throw std::invalid_argument("node_count must be at least 1");
        if (tail.size() != head.size())
            throw std::invalid_argument("tail and head must have the same length");
        if (latitude.size() != node_count || longitude.size() != node_count)
            throw std::invalid_argument("latitude and longitude must have node_count entries");
        std::vector<unsigned> t = to_vector(tail), h = to_vector(head);
        for (size_t i = 0; i < t.size(); ++i)
            if (t[i] >= node_count || h[i] >= node_count)
                throw std::out_of_range("arc " + std::to_string(i) + " has a node out of range");
        std::vector<float> lat(latitude.data(), latitude.data() + node_count);
        std::vector<float> lon(longitude.data(), longitude.data() + node_count);
        py::gil_scoped_release release;
        auto order = rk::compute_nested_node_dissection_order_using_inertial_flow(node_count, t, h, lat, lon);
        set(std::move(order), std::move(t), std::move(h), node_count);
    }

    // The same files pyroutingkit 0.2 wrote (RoutingKit's vector format): its cached topologies load as they are.
    void save(const std::string &dir) const {
        check();
        rk::save_vector(dir + "/tail", tail_);
        rk::save_vector(dir + "/head", head_);
        rk::save_vector(dir + "/order", cch_.order);
        rk::save_vector(dir + "/rank", cch_.rank);
        rk::save_vector(dir + "/node_count", std::vector<unsigned>{node_count_});
    }

    void load(const std::string &dir) {
        refuse_rebuild();
        py::gil_scoped_release release;
        auto tail = rk::load_vector<unsigned>(dir + "/tail");
        auto head = rk::load_vector<unsigned>(dir + "/head");
        auto order = rk::load_vector<unsigned>(dir + "/order");
        auto count = rk::load_vector<unsigned>(dir + "/node_count");
        if (count.size() != 1 || order.size() != count[0] || tail.size() != head.size())
            throw std::runtime_error("invalid topology in " + dir + ": node_count, order, tail and head disagree");
        for (size_t i = 0; i < tail.size(); ++i)
            if (tail[i] >= count[0] || head[i] >= count[0])
                throw std::runtime_error("invalid topology in " + dir + ": arc " + std::to_string(i) + " out of range");
        set(std::move(order), std::move(tail), std::move(head), count[0]);
    }

    unsigned node_count() const { return node_count_; }
    size_t arc_count() const { return tail_.size(); }
    bool built() const { return built_; }

    // Metrics keep a reference to this hierarchy: replacing it under them would leave them on a freed one.
    void refuse_rebuild() const {
        if (built_)
            throw std::runtime_error("topology already built or loaded: make a new Topology");
    }

    const rk::CustomizableContractionHierarchy &cch() const {
        check();
        return cch_;
    }

    rk::CustomizableContractionHierarchyParallelization &parallelization() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!parallelization_)
            parallelization_ = std::make_unique<rk::CustomizableContractionHierarchyParallelization>(cch_);
        return *parallelization_;
    }

    // A scratch of the pool (a new one when every one is in use): one per query running at once.
    std::unique_ptr<Scratch> take_scratch() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (scratches_.empty())
            return std::make_unique<Scratch>(node_count_);
        auto s = std::move(scratches_.back());
        scratches_.pop_back();
        return s;
    }
    void give_scratch(std::unique_ptr<Scratch> s) {
        std::lock_guard<std::mutex> lock(mutex_);
        scratches_.push_back(std::move(s));
    }

    // The input arcs by tail and by head, and the exact searches' scratch pool (astar.h, Metric.search): built on
    // first use (30 ms at a million nodes).
    hazmat_astar::InputGraph &input_graph() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!input_graph_)
            input_graph_ = std::make_unique<hazmat_astar::InputGraph>(node_count_, tail_, head_);
        return *input_graph_;
    }

    // RoutingKit's own query objects (point-to-point, distance tables), pooled alike.
    std::unique_ptr<rk::CustomizableContractionHierarchyQuery> take_query(const rk::CustomizableContractionHierarchyMetric &m) {
        std::unique_ptr<rk::CustomizableContractionHierarchyQuery> q;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!queries_.empty()) {
                q = std::move(queries_.back());
                queries_.pop_back();
            }
        }
        if (!q)
            return std::make_unique<rk::CustomizableContractionHierarchyQuery>(m);
        q->reset(m);
        return q;
    }
    void give_query(std::unique_ptr<rk::CustomizableContractionHierarchyQuery> q) {
        std::lock_guard<std::mutex> lock(mutex_);
        queries_.push_back(std::move(q));
    }

  private:
    void check() const {
        if (!built_)
            throw std::runtime_error("topology not built: call build or load first");
    }
    void set(std::vector<unsigned> order, std::vector<unsigned> tail, std::vector<unsigned> head, unsigned n) {
        cch_ = rk::CustomizableContractionHierarchy(order, tail, head);
        tail_ = std::move(tail);
        head_ = std::move(head);
        node_count_ = n;
        built_ = true;
        std::lock_guard<std::mutex> lock(mutex_);
        parallelization_.reset();
        scratches_.clear();
        queries_.clear();
    }

    unsigned node_count_ = 0;
    bool built_ = false;
    std::vector<unsigned> tail_, head_;
    rk::CustomizableContractionHierarchy cch_;
    std::mutex mutex_;
    std::unique_ptr<rk::CustomizableContractionHierarchyParallelization> parallelization_;
    std::vector<std::unique_ptr<Scratch>> scratches_;
    std::vector<std::unique_ptr<rk::CustomizableContractionHierarchyQuery>> queries_;
    std::unique_ptr<hazmat_astar::InputGraph> input_graph_;
};

// One weight set customised over a shared topology.
class Metric {
  public:
    explicit Metric(std::shared_ptr<Topology> topology) : topology_(std::move(topology)) {
        if (!topology_->built())
            throw std::runtime_error("topology not built: call build or load before making a metric");
    }

    void customize(const U32Array &weights, unsigned threads) {
        if (static_cast<size_t>(weights.size()) != topology_->arc_count())
            throw std::invalid_argument("weights: " + std::to_string(weights.size()) + " values for " +
                                        std::to_string(topology_->arc_count()) + " arcs");
        std::vector<unsigned> w = to_vector(weights);
        check_weights(w, "weights");
        py::gil_scoped_release release;
        std::unique_lock<std::shared_mutex> lock(mutex_);
        weights_.swap(w);
        drop_perfect();
        metric_.reset(topology_->cch(), weights_);
#ifdef _OPENMP
        if (threads > 0)
            topology_->parallelization().customize(metric_, threads);
        else
            metric_.customize();
#else
        (void)threads;
        metric_.customize();
#endif
        customized_ = true;
    }

    // A second metric equal to this one: its weights and customised arcs copied (a memcpy, a tenth of a second at
    // a million nodes, where a full customisation takes seconds); the queries under way on this one go on.
    std::unique_ptr<Metric> copy() const {
        auto out = std::make_unique<Metric>(topology_);
        py::gil_scoped_release release;
        std::shared_lock<std::shared_mutex> lock(mutex_);
        check();
        out->weights_ = weights_;
        out->metric_ = metric_;
        out->metric_.input_weight = out->weights_.data();  // its own weights, not this metric's
        out->customized_ = true;
        out->perfect_ = perfect_;  // immutable: shared
        return out;
    }

    void update_weights(const U32Array &arcs, const U32Array &weights) {
        if (arcs.size() != weights.size())
            throw std::invalid_argument("arcs and weights must have the same length");
        std::vector<unsigned> a = to_vector(arcs), w = to_vector(weights);
        check_weights(w, "weights");
        for (unsigned arc : a)
            if (arc >= topology_->arc_count())
                throw std::out_of_range("arc " + std::to_string(arc) + " out of range (" +
                                        std::to_string(topology_->arc_count()) + " arcs)");
        py::gil_scoped_release release;
        std::unique_lock<std::shared_mutex> lock(mutex_);
        check();
        if (!partial_)
            partial_ = std::make_unique<rk::CustomizableContractionHierarchyPartialCustomization>(topology_->cch());
        drop_perfect();
        for (size_t i = 0; i < a.size(); ++i) {
            weights_[a[i]] = w[i];
            partial_->update_arc(a[i]);
        }
        partial_->customize(metric_);
    }

    // Perfect customisation (perfect.h) of the current state, for query_many. Built off the metric's lock: the
    // weights are copied under the shared lock, the graphs computed with the GIL released and no lock held (queries,
    // customize and update_weights go on), and installed under the exclusive lock only if the metric is still in the
    // state copied (its generation); else nothing is installed and the answer is False. ``after_snapshot``
    // (tests): called, the GIL held, between the copy and the computation.
    bool perfect(const py::object &after_snapshot) {
        std::vector<unsigned> fw, bw, input;
        uint64_t generation;
        {
            py::gil_scoped_release release;
            std::shared_lock<std::shared_mutex> lock(mutex_);
            check();
            if (perfect_)
                return true;
            fw = metric_.forward;
            bw = metric_.backward;
            input = weights_;
            generation = generation_;
        }
        if (!after_snapshot.is_none())
            after_snapshot();
        py::gil_scoped_release release;
        auto built = hazmat_perfect::build(topology_->cch(), std::move(fw), std::move(bw), input);
        std::unique_lock<std::shared_mutex> lock(mutex_);
        if (generation != generation_)
            return false;
        perfect_ = std::move(built);
        return true;
    }

    bool is_perfect() const { return perfect_snapshot() != nullptr; }

    // (forward kept arcs, backward kept arcs, bytes of both upward graphs), or None without perfect graphs.
    py::object perfect_arcs() const {
        auto p = perfect_snapshot();
        if (!p)
            return py::none();
        return py::make_tuple(p->forward.head.size(), p->backward.head.size(), p->bytes());
    }

    py::tuple query(unsigned source, unsigned target) {
        check_node(source);
        check_node(target);
        unsigned distance;
        std::vector<unsigned> nodes, arcs;
        {
            py::gil_scoped_release release;
            std::shared_lock<std::shared_mutex> lock(mutex_);
            check();
            distance = run_pair(source, target, &nodes, arcs);
        }
        return py::make_tuple(distance, to_numpy(nodes), to_numpy(arcs));
    }

    // RoutingKit's own point-to-point run on a pooled query object: the distance, and the path when there is one
    // (``nodes`` only when asked). The caller holds the metric's lock, the GIL released.
    unsigned run_pair(unsigned source, unsigned target, std::vector<unsigned> *nodes, std::vector<unsigned> &arcs) {
        auto q = topology_->take_query(metric_);
        q->add_source(source).add_target(target).run();
        unsigned distance = q->get_distance();
        if (distance != INF) {
            if (nodes != nullptr)
                *nodes = q->get_node_path();
            arcs = q->get_arc_path();
        }
        q->reset();
        topology_->give_query(std::move(q));
        return distance;
    }

    py::tuple query_many(const U32Array &sources, const F64Array &source_costs, const U32Array &targets,
                         const F64Array &target_costs, double scale) {
        Ends e = ends(sources, source_costs, targets, target_costs);
        size_t k = e.s.size(), m = e.t.size();
        const std::vector<unsigned> &s = e.s, &t = e.t;
        const std::vector<double> &sc = e.sc, &tc = e.tc;
        double best = std::numeric_limits<double>::infinity();
        unsigned distance = INF;
        long chosen_source = -1, chosen_target = -1;
        std::vector<unsigned> arcs;
        if (k && m) {
            py::gil_scoped_release release;
            std::shared_lock<std::shared_mutex> lock(mutex_);
            check();
            if (k == 1 && m == 1 && !perfect_) {  // one pair: RoutingKit's own run (no slower than ours, cold caches)
                unsigned d = run_pair(s[0], t[0], nullptr, arcs);
                double cost = sc[0] + d / scale + tc[0];
                if (d < INF && cost < best) {  // a pair of infinite cost is no pair, as in run_many (found in review)
                    best = cost;
                    distance = d;
                    chosen_source = chosen_target = 0;
                } else {
                    arcs.clear();
                }
            } else {
                auto scratch = topology_->take_scratch();
                // an exception (memory) leaves the scratch half reset: it is dropped, not pooled
                run_many(*scratch, perfect_.get(), s, sc, t, tc, scale, best, distance, chosen_source, chosen_target,
                         arcs);
                topology_->give_scratch(std::move(scratch));
            }
        }
        return py::make_tuple(best, distance, chosen_source, chosen_target, to_numpy(arcs));
    }

    py::array_t<uint32_t> distances_many_to_many(const U32Array &sources, const U32Array &targets) {
        std::vector<unsigned> s = to_vector(sources), t = to_vector(targets);
        for (unsigned x : s)
            check_node(x);
        for (unsigned x : t)
            check_node(x);
        py::array_t<uint32_t> out({static_cast<py::ssize_t>(s.size()), static_cast<py::ssize_t>(t.size())});
        uint32_t *result = out.mutable_data();
        if (!t.empty()) {
            py::gil_scoped_release release;
            std::shared_lock<std::shared_mutex> lock(mutex_);
            check();
            auto q = topology_->take_query(metric_);
            q->pin_targets(t);
            for (size_t i = 0; i < s.size(); ++i) {
                q->reset_source().add_source(s[i]).run_to_pinned_targets();
                q->get_distances_to_targets(result + i * t.size());
            }
            q->reset();
            topology_->give_query(std::move(q));
        }
        return out;
    }

    py::array_t<uint32_t> weights() {
        std::vector<unsigned> copy;
        {
            py::gil_scoped_release release;  // a customisation under way holds the lock for seconds
            std::shared_lock<std::shared_mutex> lock(mutex_);
            copy = weights_;
        }
        return to_numpy(copy);
    }
    bool customized() const { return customized_; }

    // query_many's answer in a state this metric does not hold: ``weights`` (one per input arc, INF_WEIGHT closed,
    // none below this metric's) by an A* on the input graph with this metric's CCH potentials (astar.h); the path
    // in input arcs. ``stats``: a dict to fill with the search's counts and times, or None.
    py::tuple search(const U32Array &weights, const U32Array &sources, const F64Array &source_costs,
                     const U32Array &targets, const F64Array &target_costs, double scale, py::object stats) {
        if (static_cast<size_t>(weights.size()) != topology_->arc_count())
            throw std::invalid_argument("weights: " + std::to_string(weights.size()) + " values for " +
                                        std::to_string(topology_->arc_count()) + " arcs");
        if (!(scale > 0) || !std::isfinite(scale))
            throw std::invalid_argument("scale must be positive and finite, not " + std::to_string(scale));
        Ends e = ends(sources, source_costs, targets, target_costs);
        size_t k = e.s.size(), m = e.t.size();
        const std::vector<unsigned> &s = e.s, &t = e.t;
        const std::vector<double> &sc = e.sc, &tc = e.tc;
        for (size_t i = 0; i < k + m; ++i) {
            double c = i < k ? sc[i] : tc[i - k];
            if (std::isnan(c) || c == -std::numeric_limits<double>::infinity() || (std::isinf(c * scale) && c < 0))
                throw std::invalid_argument((i < k ? "source_costs[" + std::to_string(i) : "target_costs[" + std::to_string(i - k)) +
                                            "] is " + std::to_string(c) + ": a cost is a number (finite times scale) or +inf");
        }
        hazmat_astar::Answer answer;
        hazmat_astar::Stats counts;
        double check_s, search_s;
        {
            py::gil_scoped_release release;
            std::shared_lock<std::shared_mutex> lock(mutex_);
            check();
            auto start = std::chrono::steady_clock::now();
            size_t below = hazmat_astar::first_below(weights.data(), weights_.data(), weights_.size());
            if (below != weights_.size())
                throw std::invalid_argument("weights[" + std::to_string(below) + "] = " + std::to_string(weights.data()[below]) +
                                            " is below this metric's " + std::to_string(weights_[below]) +
                                            ": search needs a lower-bound metric (a state may only raise or close arcs)");
            auto checked = std::chrono::steady_clock::now();
            auto &graph = topology_->input_graph();
            auto scratch = graph.take_scratch();
            // an exception (memory) leaves the scratch half reset: it is dropped, not pooled
            hazmat_astar::run(graph, *scratch, topology_->cch(), metric_, weights.data(), s, sc, t, tc, scale, answer,
                              counts);
            graph.give_scratch(std::move(scratch));
            check_s = std::chrono::duration<double>(checked - start).count();
            search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - checked).count();
        }
        if (!stats.is_none()) {
            py::dict d = stats.cast<py::dict>();
            d["settled"] = counts.settled;
            d["pushed"] = counts.pushed;
            d["potentials"] = counts.potentials;
            d["ancestors"] = counts.ancestors;
            d["reached"] = counts.reached;
            d["dropped"] = counts.dropped;
            d["check_s"] = check_s;
            d["search_s"] = search_s;
        }
        return py::make_tuple(answer.cost, answer.distance, answer.source, answer.target, to_numpy(answer.arcs));
    }

  private:
    // A search's ends as query_many and search take them: node ids checked, one cost per node.
    struct Ends {
        std::vector<unsigned> s, t;
        std::vector<double> sc, tc;
    };
    Ends ends(const U32Array &sources, const F64Array &source_costs, const U32Array &targets,
              const F64Array &target_costs) const {
        size_t k = sources.size(), m = targets.size();
        if (static_cast<size_t>(source_costs.size()) != k || static_cast<size_t>(target_costs.size()) != m)
            throw std::invalid_argument("one cost per source and per target");
        Ends e{to_vector(sources), to_vector(targets), std::vector<double>(source_costs.data(), source_costs.data() + k),
               std::vector<double>(target_costs.data(), target_costs.data() + m)};
        for (unsigned x : e.s)
            check_node(x);
        for (unsigned x : e.t)
            check_node(x);
        return e;
    }

    // A new state: the perfect graphs of the old one no longer hold, and a perfect() under way must not install them.
    void drop_perfect() {
        perfect_.reset();
        ++generation_;
    }
    std::shared_ptr<const hazmat_perfect::Perfect> perfect_snapshot() const {
        py::gil_scoped_release release;  // a customisation under way holds the lock for seconds
        std::shared_lock<std::shared_mutex> lock(mutex_);
        return perfect_;
    }
    void check() const {
        if (!customized_)
            throw std::runtime_error("metric not customised: call customize first");
    }
    void check_node(unsigned x) const {
        if (x >= topology_->node_count())
            throw std::out_of_range("node " + std::to_string(x) + " out of range (" +
                                    std::to_string(topology_->node_count()) + " nodes)");
    }

    // The union of the elimination-tree paths (ancestors) of these nodes, by ascending rank, marked with ``bit``:
    // each path ascends, so each joins the union by a merge (no sort), up to where it meets a path walked already.
    static void collect(const rk::CustomizableContractionHierarchy &cch, const std::vector<unsigned> &nodes,
                        std::vector<uint8_t> &mark, uint8_t bit, std::vector<unsigned> &out, std::vector<unsigned> &spare) {
        out.clear();
        for (unsigned external : nodes) {
            size_t before = out.size();
            for (unsigned x = cch.rank[external]; x != INVALID && !(mark[x] & bit); x = cch.elimination_tree_parent[x]) {
                mark[x] |= bit;
                out.push_back(x);
            }
            if (before != 0 && out.size() != before) {
                spare.resize(out.size());
                std::merge(out.begin(), out.begin() + before, out.begin() + before, out.end(), spare.begin());
                out.swap(spare);
            }
        }
    }

    // The nodes a search of the perfect upward graphs has reached and not walked yet, by rank (a min-heap): the
    // walk takes them by ascending rank as it takes the elimination-tree paths, but only those a relaxation reached
    // (a pruned node's arcs lead nowhere new). ``bit`` marks a node pushed; ``walked`` keeps the nodes taken, by
    // ascending rank, to reset them.
    struct Frontier {
        std::vector<unsigned> *heap;
        std::vector<uint8_t> *mark;
        uint8_t bit;

        void reach(unsigned y) {
            if (!((*mark)[y] & bit)) {
                (*mark)[y] |= bit;
                heap->push_back(y);
                std::push_heap(heap->begin(), heap->end(), std::greater<unsigned>());
            }
        }
        unsigned top() const { return heap->empty() ? INVALID : heap->front(); }
        void pop(std::vector<unsigned> &walked) {
            walked.push_back(heap->front());
            std::pop_heap(heap->begin(), heap->end(), std::greater<unsigned>());
            heap->pop_back();
        }
    };

    // Relax x's upward arcs for its ``k`` labels (``S``: k known when compiling), but for a label at or above its
    // bound: every label it would set is as high, so no pair it belongs to can meet cheaper through them.
    // With a frontier (the perfect graphs), every head whose label it lowers joins it.
    template <size_t S, bool Reach>
    static void relax(unsigned x, size_t k_, unsigned *dist, unsigned *pred, const unsigned *bound,
                      const unsigned *first_out, const unsigned *head, const unsigned *weight, Frontier *frontier) {
        const size_t k = S ? S : k_;
        unsigned *from = dist + static_cast<size_t>(x) * k;
        unsigned dx_fixed[S ? S : 1];
        std::vector<unsigned> dx_dynamic(S ? 0 : k);
        unsigned *dx = S ? dx_fixed : dx_dynamic.data();
        bool any = false;
        for (size_t i = 0; i < k; ++i) {
            dx[i] = from[i] < bound[i] ? from[i] : INF;
            any |= dx[i] != INF;
        }
        if (!any)
            return;
        for (unsigned xy = first_out[x]; xy < first_out[x + 1]; ++xy) {
            size_t y = head[xy];
            unsigned w = weight[xy];
            unsigned *dy = dist + y * k, *py = pred + y * k;
            bool lowered = false;
            for (size_t i = 0; i < k; ++i) {
                unsigned d = dx[i] + w;
                if (d < dy[i]) {
                    dy[i] = d;
                    py[i] = x;
                    lowered = true;
                }
            }
            if (Reach && lowered)
                frontier->reach(static_cast<unsigned>(y));
        }
    }

    using Relax = void (*)(unsigned, size_t, unsigned *, unsigned *, const unsigned *, const unsigned *,
                           const unsigned *, const unsigned *, Frontier *);
    static Relax relax_for(size_t k, bool reach) {
        if (reach)
            return k == 1 ? &relax<1, true> : k == 2 ? &relax<2, true> : &relax<0, true>;
        return k == 1 ? &relax<1, false> : k == 2 ? &relax<2, false> : &relax<0, false>;
    }

    // Both searches' relaxations of a node in both (the top of the tree, where most of the work is): one pass
    // over its arcs, the same updates in the same order per label as relax() makes them.
    template <size_t K, size_t M>
    static void relax_both(unsigned x, unsigned *f, unsigned *fp, const unsigned *bound_f, unsigned *b, unsigned *bp,
                           const unsigned *bound_b, const unsigned *first_out, const unsigned *head, const unsigned *fw,
                           const unsigned *bw) {
        unsigned df[K], db[M];
        bool any = false;
        for (size_t i = 0; i < K; ++i) {
            unsigned v = f[static_cast<size_t>(x) * K + i];
            df[i] = v < bound_f[i] ? v : INF;
            any |= df[i] != INF;
        }
        for (size_t j = 0; j < M; ++j) {
            unsigned v = b[static_cast<size_t>(x) * M + j];
            db[j] = v < bound_b[j] ? v : INF;
            any |= db[j] != INF;
        }
        if (!any)
            return;
        for (unsigned xy = first_out[x]; xy < first_out[x + 1]; ++xy) {
            size_t y = head[xy];
            unsigned wf = fw[xy], wb = bw[xy];
            unsigned *fy = f + y * K, *fpy = fp + y * K, *by = b + y * M, *bpy = bp + y * M;
            for (size_t i = 0; i < K; ++i) {
                unsigned d = df[i] + wf;
                if (d < fy[i]) {
                    fy[i] = d;
                    fpy[i] = x;
                }
            }
            for (size_t j = 0; j < M; ++j) {
                unsigned d = db[j] + wb;
                if (d < by[j]) {
                    by[j] = d;
                    bpy[j] = x;
                }
            }
        }
    }

    using RelaxBoth = void (*)(unsigned, unsigned *, unsigned *, const unsigned *, unsigned *, unsigned *,
                               const unsigned *, const unsigned *, const unsigned *, const unsigned *, const unsigned *);
    static RelaxBoth relax_both_for(size_t k, size_t m) {
        if (k == 1 && m == 1)
            return &relax_both<1, 1>;
        if (k == 1 && m == 2)
            return &relax_both<1, 2>;
        if (k == 2 && m == 1)
            return &relax_both<2, 1>;
        if (k == 2 && m == 2)
            return &relax_both<2, 2>;
        return nullptr;  // more labels: one search after the other
    }

    // One label per source up the sources' paths, one per target up the targets' paths; at every node of both,
    // every pair's meeting. Then the pair of least cost (source cost + distance / scale + target cost, the first
    // of equals in source-major order) and its arc path.
    // With perfect graphs (``perfect`` not null): the same walk over the nodes reached upward over the kept arcs
    // (forward from the sources, backward from the targets), by ascending rank, with the perfect weights: every
    // pair's distance is the basic walk's (so is the pair chosen), its path a shortest one unpacked through the
    // kept arcs' unpacking, RoutingKit's only when no tie allows another.
    void run_many(Scratch &sc, const hazmat_perfect::Perfect *perfect, const std::vector<unsigned> &s,
                  const std::vector<double> &s_cost,
                  const std::vector<unsigned> &t, const std::vector<double> &t_cost, double scale, double &best,
                  unsigned &distance, long &chosen_source, long &chosen_target, std::vector<unsigned> &arcs) const {
        const auto &cch = topology_->cch();
        const size_t k = s.size(), m = t.size();
        sc.reserve(static_cast<unsigned>(std::max(k, m)));
        unsigned *f = sc.forward.data(), *fp = sc.forward_pred.data();
        unsigned *b = sc.backward.data(), *bp = sc.backward_pred.data();
        const unsigned *first_out = cch.up_first_out.data(), *head = cch.up_head.data();
        const unsigned *fw = metric_.forward.data(), *bw = metric_.backward.data();
        const unsigned *f_first_out = first_out, *f_head = head, *b_first_out = first_out, *b_head = head;
        if (perfect) {
            f_first_out = perfect->forward.first_out.data();
            f_head = perfect->forward.head.data();
            fw = perfect->forward.weight.data();
            b_first_out = perfect->backward.first_out.data();
            b_head = perfect->backward.head.data();
            bw = perfect->backward.weight.data();
            sc.up.clear();
            sc.down.clear();
        } else {
            collect(cch, s, sc.mark, 1, sc.up, sc.spare);
            collect(cch, t, sc.mark, 2, sc.down, sc.spare);
        }
        sc.spare.clear();
        sc.heap.clear();
        Frontier ff{&sc.spare, &sc.mark, 1}, bf{&sc.heap, &sc.mark, 2};
        for (size_t i = 0; i < k; ++i) {
            size_t x = cch.rank[s[i]];
            f[x * k + i] = 0;
            fp[x * k + i] = INVALID;
            if (perfect)
                ff.reach(static_cast<unsigned>(x));
        }
        for (size_t j = 0; j < m; ++j) {
            size_t x = cch.rank[t[j]];
            b[x * m + j] = 0;
            bp[x * m + j] = INVALID;
            if (perfect)
                bf.reach(static_cast<unsigned>(x));
        }
        // Both walks at once, by ascending rank: at a node every label is final (its arcs come from below), so
        // its meetings are known before it is relaxed, and a label at or above the cheapest meeting of each of its
        // pairs so far is not relaxed (pruning). The meetings come in the order RoutingKit's backward walk meets
        // them (the first strict minimum of each pair); what pruning leaves out is never below a pair's bound, so
        // distances, meeting nodes and the predecessors on the chosen path are RoutingKit's.
        std::vector<unsigned> length(k * m, INF), meeting(k * m, INVALID), bound_f(k, INF), bound_b(m, INF);
        Relax relax_f = relax_for(k, perfect), relax_b = relax_for(m, perfect);
        RelaxBoth both = perfect ? nullptr : relax_both_for(k, m);  // one arc list for both: the basic graph only
        const auto &up = sc.up, &down = sc.down;
        for (size_t u = 0, d = 0;
             perfect ? ff.top() != INVALID || bf.top() != INVALID : u < up.size() || d < down.size();) {
            unsigned x;
            bool forward, backward;
            if (perfect) {  // the frontiers' lower top, taken from both when it is in both
                x = std::min(ff.top(), bf.top());
                forward = ff.top() == x;
                backward = bf.top() == x;
                if (forward)
                    ff.pop(sc.up);
                if (backward)
                    bf.pop(sc.down);
            } else {
                x = d == down.size() || (u < up.size() && up[u] < down[d]) ? up[u] : down[d];
                forward = u < up.size() && up[u] == x;
                backward = d < down.size() && down[d] == x;
                u += forward;
                d += backward;
            }
            if (forward && backward) {
                const unsigned *fx = f + static_cast<size_t>(x) * k, *bx = b + static_cast<size_t>(x) * m;
                bool met = false;
                for (size_t i = 0; i < k; ++i)
                    for (size_t j = 0; j < m; ++j) {
                        unsigned l = fx[i] + bx[j];
                        if (l < length[i * m + j]) {
                            length[i * m + j] = l;
                            meeting[i * m + j] = x;
                            met = true;
                        }
                    }
                if (met) {
                    std::fill(bound_f.begin(), bound_f.end(), 0u);
                    std::fill(bound_b.begin(), bound_b.end(), 0u);
                    for (size_t i = 0; i < k; ++i)
                        for (size_t j = 0; j < m; ++j) {
                            bound_f[i] = std::max(bound_f[i], length[i * m + j]);
                            bound_b[j] = std::max(bound_b[j], length[i * m + j]);
                        }
                }
            }
            if (forward && backward && both) {
                both(x, f, fp, bound_f.data(), b, bp, bound_b.data(), first_out, head, fw, bw);
                continue;
            }
            if (forward)
                relax_f(x, k, f, fp, bound_f.data(), f_first_out, f_head, fw, &ff);
            if (backward)
                relax_b(x, m, b, bp, bound_b.data(), b_first_out, b_head, bw, &bf);
        }
        for (size_t i = 0; i < k; ++i)
            for (size_t j = 0; j < m; ++j) {
                unsigned d = length[i * m + j];
                if (d >= INF)
                    continue;
                double cost = s_cost[i] + d / scale + t_cost[j];
                if (cost < best) {
                    best = cost;
                    distance = d;
                    chosen_source = static_cast<long>(i);
                    chosen_target = static_cast<long>(j);
                }
            }
        if (chosen_source >= 0) {
            size_t i = static_cast<size_t>(chosen_source), j = static_cast<size_t>(chosen_target);
            auto on_segment = [&](unsigned, unsigned cch_arc, bool is_forward) {
                arcs.push_back(input_arc(cch, metric_, cch_arc, is_forward));
            };
            unsigned top = meeting[i * m + j];
            std::vector<unsigned> up_path = {top};
            for (unsigned x = top; fp[static_cast<size_t>(x) * k + i] != INVALID;) {
                x = fp[static_cast<size_t>(x) * k + i];
                up_path.push_back(x);
            }
            if (perfect) {
                for (size_t p = up_path.size() - 1; p != 0; --p)
                    hazmat_perfect::unpack(*perfect, true, perfect->forward.find(up_path[p], up_path[p - 1]), arcs,
                                           sc.unpack_stack);
                for (unsigned x = top, y = bp[static_cast<size_t>(top) * m + j]; y != INVALID;
                     x = y, y = bp[static_cast<size_t>(y) * m + j])
                    hazmat_perfect::unpack(*perfect, false, perfect->backward.find(y, x), arcs, sc.unpack_stack);
            } else {
                for (size_t p = up_path.size() - 1; p != 0; --p)
                    unpack_arc(cch, metric_, true, up_path[p], up_path[p - 1],
                               rk::find_arc_given_sorted_head(cch.up_first_out, cch.up_head, up_path[p],
                                                              up_path[p - 1]),
                               on_segment);
                for (unsigned x = top, y = bp[static_cast<size_t>(top) * m + j]; y != INVALID;
                     x = y, y = bp[static_cast<size_t>(y) * m + j])
                    unpack_arc(cch, metric_, false, y, x,
                               rk::find_arc_given_sorted_head(cch.up_first_out, cch.up_head, y, x), on_segment);
            }
        }
        for (unsigned x : sc.up) {
            std::fill_n(f + static_cast<size_t>(x) * k, k, INF);
            sc.mark[x] = 0;
        }
        for (unsigned x : sc.down) {
            std::fill_n(b + static_cast<size_t>(x) * m, m, INF);
            sc.mark[x] = 0;
        }
    }

    std::shared_ptr<Topology> topology_;
    std::vector<unsigned> weights_;
    rk::CustomizableContractionHierarchyMetric metric_;
    std::unique_ptr<rk::CustomizableContractionHierarchyPartialCustomization> partial_;
    std::atomic<bool> customized_{false};  // read by is_customized without the metric's lock
    std::shared_ptr<const hazmat_perfect::Perfect> perfect_;  // perfect() of the current state, or none
    uint64_t generation_ = 0;  // one more at every customize and update_weights (under the exclusive lock)
    mutable std::shared_mutex mutex_;
};

PYBIND11_MODULE(_cch, m) {
    m.doc() = "RoutingKit's customizable contraction hierarchy (third_party/routingkit), our binding: "
              "one multi-source, multi-target query per search, the GIL released while it runs.";

    py::class_<Topology, std::shared_ptr<Topology>>(m, "Topology",
                                                    "Nested-dissection order and chordal supergraph of a graph's arcs "
                                                    "(metric-independent; built once, saved, loaded).")
        .def(py::init<>())
        .def("build", &Topology::build, py::arg("tail"), py::arg("head"), py::arg("latitude"), py::arg("longitude"),
             py::arg("node_count"), "Build from the arcs tail[i] -> head[i] and the nodes' coordinates (GIL released).")
        .def("save", &Topology::save, py::arg("folder"), "Save into an existing folder (RoutingKit's vector files).")
        .def("load", &Topology::load, py::arg("folder"), "Load a saved topology; RuntimeError when unreadable.")
        .def_property_readonly("node_count", &Topology::node_count)
        .def_property_readonly("arc_count", &Topology::arc_count)
        .def_property_readonly("cch_arc_count", [](const Topology &t) { return t.cch().cch_arc_count(); })
        .def_property_readonly("is_built", &Topology::built);

    py::class_<Metric>(m, "Metric",
                       "One weight set customised over a topology. Queries may run from many threads at once (GIL "
                       "released); customize and update_weights wait for the queries under way and block new ones.")
        .def(py::init<std::shared_ptr<Topology>>(), py::arg("topology"))
        .def("customize", &Metric::customize, py::arg("weights"), py::arg("threads") = 0,
             "Full customisation with one uint32 weight per arc; threads > 0: RoutingKit's OpenMP customisation.")
        .def("copy", &Metric::copy,
             "A new metric equal to this one (weights and customisation copied, not recomputed; the GIL released).")
        .def("update_weights", &Metric::update_weights, py::arg("arcs"), py::arg("weights"),
             "Partial customisation: new weights of a few arcs (input arc ids).")
        .def("query", &Metric::query, py::arg("source"), py::arg("target"),
             "RoutingKit's point-to-point query: (distance, node path, arc path); INF_WEIGHT and empty paths when "
             "unreachable.")
        .def("query_many", &Metric::query_many, py::arg("sources"), py::arg("source_costs"), py::arg("targets"),
             py::arg("target_costs"), py::arg("scale") = 1000.0,
             "One search from several sources to several targets: the pair of least source_costs[i] + "
             "distance / scale + target_costs[j] (the first of equals, source-major), as "
             "(cost, distance, i, j, arc path); (inf, INF_WEIGHT, -1, -1, []) when no target is reachable. "
             "The distance and path are those of query(sources[i], targets[j]); after perfect(), the same cost, "
             "distance and pair, and a shortest path (on ties it may differ from query's).")
        .def("perfect", &Metric::perfect, py::arg("after_snapshot") = py::none(),
             "Perfect customisation of the current state for query_many (built off the metric's lock, the GIL "
             "released); False when customize or update_weights changed the metric meanwhile (nothing installed). "
             "after_snapshot: a callable run between the weights' copy and the build (tests).")
        .def_property_readonly("is_perfect", &Metric::is_perfect)
        .def_property_readonly("perfect_arcs", &Metric::perfect_arcs,
                               "(forward kept arcs, backward kept arcs, bytes of both upward graphs), or None.")
        .def("distances_many_to_many", &Metric::distances_many_to_many, py::arg("sources"), py::arg("targets"),
             "Distance table (len(sources), len(targets)), INF_WEIGHT where unreachable.")
        .def("search", &Metric::search, py::arg("weights"), py::arg("sources"), py::arg("source_costs"),
             py::arg("targets"), py::arg("target_costs"), py::arg("scale") = 1000.0, py::arg("stats") = py::none(),
             "query_many's answer under other weights (one uint32 per arc, none below this metric's: else ValueError "
             "naming the arc), by an exact A* on the input arcs with this metric's CCH potentials; the path in input "
             "arcs. ``stats``: a dict to fill with the search's counts and times.")
        .def_property_readonly("weights", &Metric::weights)
        .def_property_readonly("is_customized", &Metric::customized);

    m.attr("INF_WEIGHT") = INF;
#ifdef _OPENMP
    m.attr("HAS_OPENMP") = true;
#else
    m.attr("HAS_OPENMP") = false;
#endif
}
